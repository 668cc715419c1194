import { z } from 'zod';
import { Check, Guard, Metric } from './analysis.ts';
import { EnvironmentHooks } from './hooks.ts';
import { Maintenance } from './maintenance.ts';
import { Monitoring } from './monitoring.ts';
import { Notify } from './notify.ts';
import { Proxy } from './proxy.ts';
import { Accessories, RoleOrder, Roles } from './roles.ts';

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

export const Host = z
  .strictObject({
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/).describe('Short host name used in output'),
    address: z.string().min(1).describe('IP or DNS name'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().default('root'),
    hostKey: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'SHA256:<base64 fingerprint> as ssh-keygen -lf prints it').optional().describe('Pinned host key fingerprint'),
    privateAddress: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'an IPv4 address').optional().describe('IPv4 address the other hosts reach this host at (private network): monitoring scrapes it there'),
  })
  .describe('A production host reached over SSH');

export const Ssh = z
  .strictObject({
    keyFile: z.string().optional().describe('Private key file (default: the SSH agent, then ~/.ssh/id_ed25519)'),
    knownHosts: z.string().optional().describe('known_hosts file used to check host keys'),
    jumpHost: z.string().optional().describe('user@host:port of a bastion to connect through'),
    jumpHostKey: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'SHA256:<base64 fingerprint> as ssh-keygen -lf prints it').optional().describe('Pinned host key fingerprint of the jump host (else known_hosts)'),
    connectTimeoutSeconds: z.number().positive().default(10),
    commandTimeoutSeconds: z.number().positive().default(300),
    parallel: z.number().int().positive().default(4).describe('Hosts worked on at once'),
  })
  .describe('SSH connection settings');

const steps = z
  .array(z.number().int().min(1).max(100))
  .min(1)
  .refine((a) => a.every((v, i) => i === 0 || v > a[i - 1]!), 'percentages in increasing order')
  .refine((a) => a[a.length - 1] === 100, 'the last step must be 100');

export const Canary = z
  .strictObject({
    steps: steps.default([10, 25, 50, 100]).describe('Share of traffic (percent) on the new release at each step; the last is 100'),
    pauseSeconds: z.number().nonnegative().default(30).describe('Observation window of each step before promoting'),
    minRequests: z.number().int().positive().default(20).describe('Requests the new release must serve in a step before it can be judged'),
    maxErrorRate: z.number().min(0).max(1).default(0.05).describe('Roll back when the new release errors more than this share of requests...'),
    maxErrorRateIncrease: z.number().min(0).max(1).default(0.02).describe('...and more than the old release plus this'),
    maxP95Ratio: z.number().min(1).default(1.5).describe('Roll back when the new release p95 latency exceeds the old one times this...'),
    p95SlackMs: z.number().nonnegative().default(50).describe('...and by more than this many milliseconds (ignores noise at low latencies)'),
    inconclusive: z
      .enum(['continue', 'abort'])
      .default('continue')
      .describe('A step still unjudged after a second pause (too few requests, a metric without values): continue to the next step (said in the analysis), or abort (roll every host back)'),
    metrics: z
      .array(Metric)
      .default([])
      .describe("More metrics judged at every step besides the thresholds above (a failed one rolls back): the accessLog provider gives the step's values (canary.*, baseline.*, <host>.canary.*: requests, errors, error_rate, p50_ms, p95_ms, p99_ms; rates and times from minRequests above); prometheus, web and job as in deploy.guard"),
  })
  .describe('strategy: canary — weighted steps with automated analysis of the access log');

export const BlueGreen = z
  .strictObject({
    windowSeconds: z.number().nonnegative().default(900).describe('How long the previous release keeps running after the switch, so pier rollback is only a proxy switch'),
  })
  .describe('strategy: blue-green — every host starts and verifies the new release, then all proxies switch together');

export const Backup = z
  .strictObject({
    via: z.enum(['docker', 'compose', 'ssh']).describe('Where PostgreSQL runs: a local container, a service of this environment\'s compose stack, or a container on a host reached over SSH'),
    container: z.string().min(1).optional().describe('Container name (via docker / ssh)'),
    service: z.string().min(1).optional().describe('Compose service name (via compose)'),
    host: z.string().optional().describe('via ssh: a name in hosts, or user@address[:port] of a database host that is not deployed to (same SSH key and known_hosts); default: the first host'),
    accessory: z.string().optional().describe('via ssh: the accessory (accessories.<name>) running PostgreSQL: its container and host'),
    database: z.string().min(1).describe('Database to back up'),
    user: z.string().min(1).default('postgres').describe('Database role pg_dump connects as (local socket inside the container)'),
    dir: z.string().default('.pier/backups').describe('Directory (on the machine running pier) where backups are kept'),
    keep: z.number().int().min(1).default(7).describe('Backups kept per environment; older ones are deleted after each successful backup'),
    beforeMigrate: z.boolean().default(true).describe('Back up before a deploy runs migrations (the deploy refuses to migrate when it fails)'),
    appRole: z.string().min(1).optional().describe('Role the app connects as; a restore is checked (and undone) so it keeps reading, writing and creating. Default: the database owner'),
    rpoMinutes: z.number().positive().default(60).describe('Recovery point objective: pier db drill fails when the newest verified backup is older'),
  })
  .superRefine((b, ctx) => {
    if ((b.via === 'docker' || b.via === 'ssh') && !b.container && !(b.via === 'ssh' && b.accessory)) ctx.addIssue({ code: 'custom', path: ['container'], message: `required with via: ${b.via}` });
    if (b.via === 'compose' && !b.service) ctx.addIssue({ code: 'custom', path: ['service'], message: 'required with via: compose' });
  })
  .describe('Database backups: pier db backup|restore|verify|drill');

export const Logging = z
  .strictObject({
    maxSize: z.string().regex(/^[1-9]\d*[kmg]?$/, "a size as Docker's json-file driver takes it: a number with k, m or g, e.g. 10m").default('10m').describe('Largest log file of one container before Docker rotates it (json-file max-size)'),
    maxFile: z.number().int().min(1).max(100).default(3).describe('Rotated log files kept per container (json-file max-file): a container never holds more than maxSize x maxFile of logs'),
  })
  .describe('Bounded container logs: release and role containers, the proxy and accessories run with the json-file driver and these limits');

export const Deploy = z
  .strictObject({
    strategy: z.enum(['rolling', 'blue-green', 'canary']).default('rolling'),
    batch: z.number().int().positive().default(1).describe('Hosts switched at once after the first'),
    keepReleases: z.number().int().min(1).default(3),
    healthTimeoutSeconds: z.number().positive().default(60),
    drainSeconds: z.number().nonnegative().default(2),
    rollbackWindowSeconds: z.number().nonnegative().default(600).describe('After a rolling or canary deploy the previous release keeps running (not serving) this long, so pier rollback within it is a proxy switch; then a timer on the host stops it (kept for rollback, restarted when needed). 0: stopped after the drain'),
    bakeSeconds: z.number().nonnegative().default(5).describe('Watch window after each switch'),
    maxErrorRate: z.number().min(0).max(1).default(0.05).describe('Error-rate threshold during the bake window'),
    proxyPort: z.number().int().min(1).max(65535).default(80).describe('Public port of the per-host nginx proxy'),
    dir: z.string().default('/var/lib/pier').describe('Directory on each host for releases, lock and audit log'),
    registry: z
      .string()
      .regex(/^[a-zA-Z0-9.-]+(:\d+)?$/, 'host[:port] of a registry, e.g. registry.example.com or reg:5000')
      .optional()
      .describe('Registry the hosts pull from (<registry>/<app.image>:<version>); without it images are streamed over SSH'),
    proxyImage: z.string().default('nginx:1.27').describe('Image of the per-host nginx proxy'),
    minFreeMb: z.number().int().nonnegative().default(1024).describe("Free disk space each host needs under dir and under Docker's data root before a deploy (refused, exit 3, below it)"),
    minFreeInodesPercent: z.number().min(0).max(100).default(5).describe("Free inodes (percent) each host needs under dir and under Docker's data root before a deploy (refused, exit 3, below it)"),
    logging: Logging.default(Logging.parse({})),
    smokePath: z.string().startsWith('/').optional().describe('Path requested through the proxy after each switch (default: the app health path)'),
    canary: Canary.default(Canary.parse({})),
    blueGreen: BlueGreen.default(BlueGreen.parse({})),
    guard: Guard.optional().describe('Post-deploy guard (analysis for a window after the deploy; rollback of every host when a metric fails). pier deploy runs it when set (--no-guard skips); pier guard <env> runs it on demand'),
    requirePassed: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'the name of another environment (a file environments/<name>.yaml), e.g. staging')
      .optional()
      .describe("An environment whose checks: must have passed an image before it reaches this one (e.g. staging for production): pier deploy refuses, before touching a host (exit 1), a version whose newest checks verdict on that environment's hosts is missing or failed, and pulls exactly the digest that passed; pier promote from another environment is held to it too. --no-require-passed overrides (said in the output and the report)"),
  })
  .describe('How releases reach the hosts');

export const SecretRef = z
  .strictObject({
    from: z.array(z.string().min(1)).min(1).describe('Command (argv, no shell) run on the deploying machine at deploy time; its stdout (one trailing newline removed) is the value'),
    timeoutSeconds: z.number().positive().max(600).default(30).describe('The command is killed and the deploy refused after this long'),
  })
  .describe('A secret read from a secret manager at deploy time (1Password op, Bitwarden bw, aws, vault, doppler...)');

export const Environment = z
  .strictObject({
    $schema: z.string().optional(),
    description: z.string().optional(),
    compose: z.array(z.string()).default([]).describe('Compose files, relative to the repo root'),
    envFile: z.string().optional().describe('dotenv file with the app runtime env: git-ignored plaintext, or encrypted with pier secrets (dotenvx) and committed'),
    secrets: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name (letters, digits, _)'))
      .default([])
      .describe('Runtime variables whose values are secrets (redacted everywhere) besides names like *PASSWORD*, *SECRET*, *TOKEN*, *_KEY and URL passwords'),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name (letters, digits, _)'), z.union([z.string(), SecretRef]))
      .default({})
      .describe('Runtime variables set besides the env file (they win over it); a { from: [argv...] } value is read from a secret manager at deploy time'),
    requiredEnv: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name (letters, digits, _)'),
        z.string().refine(isRegExp, 'a valid regular expression'),
      )
      .default({})
      .describe('Variables the env file must set, each with a regular expression the whole value must match'),
    url: z.string().url().optional().describe('Public URL of the environment: BASE_URL of its checks and smoke commands'),
    checks: z.array(Check).default([]).describe('Commands run against the environment after a deploy (pier checks, pier release); their passing digest is what pier promote accepts'),
    smoke: z.array(Check).default([]).describe('Commands run against the environment after every deploy to it (a failure rolls every host back)'),
    hosts: z.array(Host).default([]),
    ssh: Ssh.default(Ssh.parse({})),
    deploy: Deploy.default(Deploy.parse({})),
    backup: Backup.optional(),
    hooks: EnvironmentHooks.optional(),
    maintenance: Maintenance.default(Maintenance.parse({})),
    proxy: Proxy.default(Proxy.parse({})),
    roles: Roles.optional(),
    roleOrder: RoleOrder.optional(),
    accessories: Accessories.default({}),
    monitoring: Monitoring.optional(),
    notify: z.array(Notify).default([]).describe('Webhooks told about deploys, rollbacks, guard verdicts and failed backups (a slow or failing one never blocks or fails a command)'),
  })
  .describe('An environment overlay: environments/<name>.yaml');
