/**
 * The monitoring set's Docker commands as argv (pure): a node exporter on every host and Prometheus
 * on the monitoring host, both on the host's network (the exporter reads the host's own /proc and
 * filesystems; Prometheus reaches the other hosts' private addresses and its own host's loopback).
 * Labelled `pier.monitoring` only: release listings, pruning and `pier reap` leave them alone.
 */
export const EXPORTER_CONTAINER = 'pier-node-exporter';
export const PROMETHEUS_CONTAINER = 'pier-prometheus';
/** Prometheus's data: a named volume, kept by `pier monitoring down` unless --volumes. */
export const PROMETHEUS_VOLUME = 'pier-prometheus-data';

/** The config directory on the host (prometheus.yml, rules.yml), mounted read-only. */
export const monitoringDir = (dir: string): string => `${dir.replace(/\/+$/, '')}/monitoring`;
/** Where the config directory appears inside the Prometheus container. */
export const CONFIG_MOUNT = '/etc/pier-monitoring';

const common = (name: string, role: string): string[] => [
  'docker', 'run', '--detach', '--name', name, '--network', 'host', '--restart', 'unless-stopped',
  '--label', `pier.monitoring=${role}`,
];

/** The node exporter, reading the host's root filesystem (read-only) and listening on `listen`. */
export function runExporter(image: string, listen: string): string[] {
  return [
    ...common(EXPORTER_CONTAINER, 'node-exporter'), '--pid', 'host', '--volume', '/:/host:ro',
    image, '--path.rootfs=/host', `--web.listen-address=${listen}`,
  ];
}

export function runPrometheus(image: string, o: { dir: string; listen: string; retention: string }): string[] {
  return [
    ...common(PROMETHEUS_CONTAINER, 'prometheus'),
    '--volume', `${monitoringDir(o.dir)}:${CONFIG_MOUNT}:ro`, '--volume', `${PROMETHEUS_VOLUME}:/prometheus`,
    image,
    `--config.file=${CONFIG_MOUNT}/prometheus.yml`, '--storage.tsdb.path=/prometheus',
    `--storage.tsdb.retention.time=${o.retention}`, `--web.listen-address=${o.listen}`,
  ];
}

/** One instant query through promtool inside the Prometheus container (no curl needed on the host). */
export const promQuery = (listen: string, query: string): string[] => ['docker', 'exec', PROMETHEUS_CONTAINER, 'promtool', 'query', '-o', 'json', 'instant', `http://${listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`, query];

/** `promtool check config` of the uploaded files in a throwaway container of the Prometheus image (no network). */
export const checkConfig = (image: string, dir: string, configFile: string): string[] => [
  'docker', 'run', '--rm', '--network', 'none', '--label', 'pier.monitoring=check',
  '--volume', `${monitoringDir(dir)}:${CONFIG_MOUNT}:ro`, '--entrypoint', 'promtool', image, 'check', 'config', configFile,
];
