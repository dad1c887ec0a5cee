#!/usr/bin/env bash
# Installs and starts the Spito service on an Amazon Linux 2023 instance, then tells
# CloudFormation whether it worked: success only once /readyz has answered (the service reaches
# DynamoDB and S3) and the load balancer's health check would count the instance healthy. Runs from user data as root; the same script runs in the test
# suite under a temporary --root with --no-packages --no-systemd --no-signal, which replace exactly
# the three things a test host cannot do (dnf, systemd, cfn-signal).
set -Eeuo pipefail

usage() {
  cat <<'USAGE'
usage: fleet_bootstrap.sh --bundle ZIP|s3://BUCKET/KEY --env-file FILE [options]
  --bundle SRC          the service asset: a zip of service/ (local path or s3:// URL)
  --env-file FILE       KEY=value lines for the service (SPITO_*, PORT, AWS_REGION)
  --log-group NAME      CloudWatch log group the agent ships the service log to
  --stack NAME --resource ID --region REGION   where cfn-signal reports
  --root DIR            install under DIR instead of / (tests)
  --python EXE          interpreter for the virtualenv (default python3.11)
  --health-timeout S    seconds to wait for /readyz (default 180)
  --alb-health-path P   the target group's health check path (default /healthz)
  --alb-interval S      its interval in seconds (default 5)
  --alb-healthy-threshold N   its healthy threshold count (default 2)
  --wheelhouse DIR      install the locked wheels from DIR instead of the bundle's wheelhouse/
  --index               no wheelhouse: install from pip's configured index (needs the internet)
  --no-packages         skip dnf and the CloudWatch agent (host without dnf)
  --no-systemd          start the service as a background process of this user (host without systemd)
  --no-signal           skip cfn-signal (host outside CloudFormation)
  --signal-command EXE  cfn-signal to call (default /opt/aws/bin/cfn-signal)
USAGE
}

ROOT="" BUNDLE="" ENV_FILE="" LOG_GROUP="" STACK="" RESOURCE="" REGION=""
PYTHON="python3.11" HEALTH_TIMEOUT=180 WHEELHOUSE="" INDEX=0
# The target group's health check (infra/target_health.py; a test keeps the two equal).
ALB_HEALTH_PATH=/healthz ALB_INTERVAL=5 ALB_HEALTHY_THRESHOLD=2
PACKAGES=1 SYSTEMD=1 SIGNAL=1 SIGNAL_COMMAND=/opt/aws/bin/cfn-signal
SERVICE_USER="spito"

while (($#)); do
  case "$1" in
    --bundle) BUNDLE="$2"; shift 2 ;;
    --env-file) ENV_FILE="$2"; shift 2 ;;
    --log-group) LOG_GROUP="$2"; shift 2 ;;
    --stack) STACK="$2"; shift 2 ;;
    --resource) RESOURCE="$2"; shift 2 ;;
    --region) REGION="$2"; shift 2 ;;
    --root) ROOT="${2%/}"; shift 2 ;;
    --python) PYTHON="$2"; shift 2 ;;
    --health-timeout) HEALTH_TIMEOUT="$2"; shift 2 ;;
    --alb-health-path) ALB_HEALTH_PATH="$2"; shift 2 ;;
    --alb-interval) ALB_INTERVAL="$2"; shift 2 ;;
    --alb-healthy-threshold) ALB_HEALTHY_THRESHOLD="$2"; shift 2 ;;
    --wheelhouse) WHEELHOUSE="$2"; shift 2 ;;
    --index) INDEX=1; shift ;;
    --no-packages) PACKAGES=0; shift ;;
    --no-systemd) SYSTEMD=0; shift ;;
    --no-signal) SIGNAL=0; shift ;;
    --signal-command) SIGNAL_COMMAND="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "fleet_bootstrap: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

log() { echo "fleet_bootstrap: $*" >&2; }
die() { log "$*"; exit 1; }

signal() {
  ((SIGNAL)) || return 0
  "$SIGNAL_COMMAND" --exit-code "$1" --stack "$STACK" --resource "$RESOURCE" --region "$REGION"
}

on_exit() {
  local code=$?
  if ((code != 0)); then
    log "failed with exit code $code; signalling failure"
    signal 1 || log "cfn-signal failed too"
  fi
}
trap on_exit EXIT

[[ -n "$BUNDLE" && -n "$ENV_FILE" ]] || { usage >&2; exit 2; }
if ((SIGNAL)); then
  [[ -n "$STACK" && -n "$RESOURCE" && -n "$REGION" ]] || die "--stack, --resource and --region are needed to signal"
fi
if ((PACKAGES)); then
  [[ -n "$LOG_GROUP" ]] || die "--log-group is needed to ship logs"
fi
# systemd's EnvironmentFile and bash must read the file alike: plain KEY=value, no quoting.
if grep -Evq '^([A-Z_][A-Z0-9_]*=[^[:space:]"'"'"'\\$`]*)?$' "$ENV_FILE"; then
  die "$ENV_FILE: every line must be KEY=value with no spaces, quotes or \$"
fi

APP_DIR="$ROOT/opt/spito/app"
VENV="$ROOT/opt/spito/venv"
CONF_DIR="$ROOT/etc/spito"
LOG_DIR="$ROOT/var/log/spito"
RUN_DIR="$ROOT/run/spito"
PORT="$(sed -n 's/^PORT=//p' "$ENV_FILE" | tail -n1)"
PORT="${PORT:-8080}"

install_packages() {
  ((PACKAGES)) || return 0
  log "installing python3.11, the CloudWatch agent and cfn-bootstrap"
  dnf install -y --setopt=install_weak_deps=False \
    python3.11 python3.11-pip amazon-cloudwatch-agent aws-cfn-bootstrap
}

create_user() {
  ((SYSTEMD)) || return 0
  id -u "$SERVICE_USER" >/dev/null 2>&1 ||
    useradd --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin "$SERVICE_USER"
}

unpack_bundle() {
  local zip="$BUNDLE"
  if [[ "$BUNDLE" == s3://* ]]; then
    zip="$(mktemp --suffix=.zip)"
    aws s3 cp --only-show-errors ${REGION:+--region "$REGION"} "$BUNDLE" "$zip"
  fi
  log "unpacking the service into $APP_DIR"
  rm -rf "$APP_DIR"
  mkdir -p "$APP_DIR/service"
  "$PYTHON" -m zipfile -e "$zip" "$APP_DIR/service"
  [[ -f "$APP_DIR/service/__main__.py" && -f "$APP_DIR/service/requirements.lock" ]] ||
    die "the bundle has no service/__main__.py or service/requirements.lock"
  # The asset carries the locked wheels for this platform (infra/service_bundle.py); they leave
  # the service's directory so only the service is on its path.
  if [[ -d "$APP_DIR/service/wheelhouse" ]]; then
    rm -rf "$ROOT/opt/spito/wheelhouse"
    mv "$APP_DIR/service/wheelhouse" "$ROOT/opt/spito/wheelhouse"
    WHEELHOUSE="${WHEELHOUSE:-$ROOT/opt/spito/wheelhouse}"
  fi
}

install_dependencies() {
  local source=()
  if [[ -n "$WHEELHOUSE" ]]; then
    # No index at all: a boot needs neither PyPI nor a route to the internet.
    source=(--no-index --find-links "$WHEELHOUSE")
    log "installing the hash-locked dependencies from $WHEELHOUSE into $VENV"
  elif ((INDEX)); then
    log "installing the hash-locked dependencies from the package index into $VENV"
  else
    die "the bundle has no wheelhouse/: rebuild the asset (make wheelhouse, then synth), or pass --index"
  fi
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes --only-binary=:all: "${source[@]}" -r "$APP_DIR/service/requirements.lock"
}

write_config() {
  mkdir -p "$CONF_DIR" "$LOG_DIR" "$RUN_DIR"
  install -m 0640 "$ENV_FILE" "$CONF_DIR/spito.env"
  if ((SYSTEMD)); then
    chown "root:$SERVICE_USER" "$CONF_DIR/spito.env"
    chown "$SERVICE_USER:$SERVICE_USER" "$LOG_DIR"
  fi
  # The CloudWatch agent tails the service's log file: it batches, retries and follows rotation,
  # which forwarding journald would need a third-party shipper for.
  cat >"$CONF_DIR/cloudwatch-agent.json" <<JSON
{
  "agent": {"run_as_user": "cwagent"},
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          {"file_path": "/var/log/spito/service.log", "log_group_name": "$LOG_GROUP",
           "log_stream_name": "{instance_id}", "timestamp_format": "%Y-%m-%dT%H:%M:%S"}
        ]
      }
    }
  }
}
JSON
  mkdir -p "$ROOT/etc/logrotate.d"
  cat >"$ROOT/etc/logrotate.d/spito" <<'ROTATE'
/var/log/spito/service.log {
  daily
  rotate 3
  compress
  missingok
  copytruncate
}
ROTATE
  mkdir -p "$ROOT/etc/systemd/system"
  cat >"$ROOT/etc/systemd/system/spito.service" <<UNIT
[Unit]
Description=Spito API
Wants=network-online.target
After=network-online.target

[Service]
User=$SERVICE_USER
Group=$SERVICE_USER
WorkingDirectory=/opt/spito/app
EnvironmentFile=/etc/spito/spito.env
ExecStart=/opt/spito/venv/bin/python -m service
Restart=always
RestartSec=2
StandardOutput=append:/var/log/spito/service.log
StandardError=append:/var/log/spito/service.log
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
CapabilityBoundingSet=

[Install]
WantedBy=multi-user.target
UNIT
}

start_log_agent() {
  ((PACKAGES)) || return 0
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl \
    -a fetch-config -m ec2 -s -c "file:$CONF_DIR/cloudwatch-agent.json"
}

start_service() {
  if ((SYSTEMD)); then
    systemctl daemon-reload
    systemctl enable spito.service
    systemctl restart spito.service
    return 0
  fi
  # No systemd: the same command, environment and log file, as a detached process group.
  (
    cd "$APP_DIR"
    set -a
    # shellcheck source=/dev/null
    . "$CONF_DIR/spito.env"
    set +a
    exec setsid "$VENV/bin/python" -m service >>"$LOG_DIR/service.log" 2>&1 </dev/null
  ) &
  echo $! >"$RUN_DIR/spito.pid"
}

# Ready means /readyz answers 200: the service reaches its table and bucket, which /healthz
# (the process is up) does not say. Then the ALB's own check must be able to pass: a new target
# is healthy after HealthyThresholdCount consecutive passes, one per interval
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html),
# so its path must keep answering 200 for one interval more than that. Only then may the signal
# let CloudFormation replace the instance before it, and a one-instance stage never goes
# without a healthy target.
wait_until_ready() {
  log "waiting up to ${HEALTH_TIMEOUT}s for http://127.0.0.1:$PORT/readyz"
  "$VENV/bin/python" - "$PORT" "$HEALTH_TIMEOUT" "$ALB_HEALTH_PATH" "$ALB_INTERVAL" \
    "$ALB_HEALTHY_THRESHOLD" <<'PY'
import sys, time, urllib.request

port, timeout, alb_path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
alb_window = float(sys.argv[4]) * (int(sys.argv[5]) + 1)
deadline = time.monotonic() + timeout


def answers_200(path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


while not answers_200("/readyz"):
    if time.monotonic() > deadline:
        sys.exit(f"/readyz did not answer 200 within {timeout:.0f}s: check the table, bucket and role")
    time.sleep(1)
print(f"fleet_bootstrap: ready; checking {alb_path} for {alb_window:.0f}s as the ALB does", file=sys.stderr)
passing_since = time.monotonic()
while time.monotonic() - passing_since < alb_window:
    if not answers_200(alb_path):
        passing_since = time.monotonic()
        if passing_since > deadline:
            sys.exit(f"{alb_path} did not keep answering 200 within {timeout:.0f}s")
    time.sleep(1)
PY
}

# cfn-signal only counts while a stack operation waits for this instance (a creation or rolling
# update); an instance that scaling or a health replacement launched later runs the same user
# data, and CloudFormation refuses its signal (a ValidationError: the resource "cannot be
# signaled"). The boot succeeded all the same, so a refused success signal is logged, not fatal
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-signal.html,
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-creationpolicy.html).
signal_success() {
  signal 0 && return 0
  log "cfn-signal was refused; no stack operation is waiting for this instance (launched by" \
    "scaling or a replacement), so there was nothing to tell: the service is ready"
}

install_packages
create_user
unpack_bundle
install_dependencies
write_config
start_log_agent
start_service
wait_until_ready
log "service ready on port $PORT"
signal_success
