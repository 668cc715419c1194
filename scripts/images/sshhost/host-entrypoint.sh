#!/bin/sh
# Fresh host keys per container (a test can then prove a changed key is refused), the key from
# $AUTHORIZED_KEY, the inner dockerd in the background, sshd in the foreground.
set -eu
[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
if [ -n "${AUTHORIZED_KEY:-}" ]; then printf '%s\n' "$AUTHORIZED_KEY" > /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys; fi
if [ -n "${INSECURE_REGISTRY:-}" ]; then mkdir -p /etc/docker; printf '{"insecure-registries":["%s"]}\n' "$INSECURE_REGISTRY" > /etc/docker/daemon.json; fi
dockerd >/var/log/dockerd.log 2>&1 &
exec /usr/sbin/sshd -D -e -o HostKey=/etc/ssh/ssh_host_ed25519_key
