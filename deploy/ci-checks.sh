#!/usr/bin/env bash
# Checks of everything under deploy/ that cargo test cannot see. Called from .ci/run.
#
#   1. release binaries (reused when already built) and the Debian packages (cargo deb --no-build),
#      then their contents: binary, unit, conffiles under /etc/<name>/, no secrets;
#   2. systemd: `systemd-analyze verify` and `systemd-analyze security --offline=yes` on both units,
#      failing above an exposure of 2.0;
#   3. yamllint on the compose file and the Helm chart's non-template YAML;
#   4. the Helm chart's values.yaml and every example values file against values.schema.json;
#   5. Dockerfiles: non-root numeric user, HEALTHCHECK through the binary, OCI labels.
#
# It installs what it needs when missing (yamllint from Debian, jsonschema/PyYAML from PyPI,
# cargo-deb from crates.io). No Docker engine and no helm binary are needed (none runs here).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
MAX_EXPOSURE=2.0
STARTED=$SECONDS
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - STARTED))"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "tools"
if ! command -v yamllint >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yamllint >/dev/null
fi
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (Debian package systemd)"
python3 -c 'import jsonschema, yaml' 2>/dev/null || pip install -q jsonschema pyyaml
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked

# DEB_PROFILE=dev packages the binaries the test run already built (seconds instead of a release
# build); the package layout checked is the same. The default builds what would ship.
PROFILE=${DEB_PROFILE:-release}
step "$PROFILE build (a no-op when it is up to date)"
cargo build --profile "$PROFILE" --locked -p relay-agent -p relay-broker

DEB_DIR=$CARGO_TARGET_DIR/debian
for pkg in relay-agent relay-broker; do
    step "package $pkg"
    rm -f "$DEB_DIR/${pkg}_"*.deb
    cargo deb -p "$pkg" --no-build --profile "$PROFILE" --fast -o "$DEB_DIR" >/dev/null
    deb=$(ls "$DEB_DIR/${pkg}_"*.deb)
    echo "$deb"
    tree=$WORK/$pkg
    dpkg-deb -x "$deb" "$tree"
    dpkg-deb -e "$deb" "$tree/DEBIAN"
    dpkg-deb -c "$deb"

    [ -x "$tree/usr/bin/$pkg" ] || fail "$pkg: /usr/bin/$pkg missing or not executable"
    "$tree/usr/bin/$pkg" --version
    unit=$(find "$tree" -path "*/systemd/system/$pkg.service" | head -n1)
    [ -n "$unit" ] || fail "$pkg: no systemd unit in the package"
    cmp -s "$unit" "deploy/systemd/$pkg.service" || fail "$pkg: packaged unit differs from deploy/systemd"
    conf=$([ "$pkg" = relay-agent ] && echo agent.toml || echo broker.toml)
    wanted=("/etc/$pkg/$conf")
    [ "$pkg" = relay-agent ] && wanted+=("/etc/relay-agent/allowlist.toml")
    for file in "${wanted[@]}"; do
        [ -f "$tree$file" ] || fail "$pkg: $file not packaged"
        grep -qx "$file" "$tree/DEBIAN/conffiles" || fail "$pkg: $file is not a conffile"
    done
    grep -q 'deb-systemd-helper' "$tree/DEBIAN/postinst" || fail "$pkg: postinst lacks the systemd handling"
    sh -n "$tree/DEBIAN/postinst" || fail "$pkg: postinst is not valid sh"
    if find "$tree" -path "$tree/DEBIAN" -prune -o -type f \( -name '*.key' -o -path '*/credentials/*' \) -print | grep -q .; then
        fail "$pkg: a key or credential file is packaged"
    fi
    if grep -rlE --exclude-dir=DEBIAN --exclude-dir=bin -e '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' "$tree"; then
        fail "$pkg: a private key is packaged"
    fi
    if [ "$pkg" = relay-agent ]; then
        "$tree/usr/bin/relay-agent" allowlist check "$tree/etc/relay-agent/allowlist.toml" | tail -n1
    fi

    step "systemd $pkg"
    # verify needs ExecStart= to exist: point it at the packaged binary, nothing else changes.
    sed "s#^ExecStart=/usr/bin/$pkg #ExecStart=$tree/usr/bin/$pkg #" "deploy/systemd/$pkg.service" >"$WORK/$pkg.service"
    (cd "$WORK" && systemd-analyze verify "$WORK/$pkg.service")
    score=$(cd "$WORK" && systemd-analyze security --offline=yes "$ROOT/deploy/systemd/$pkg.service" |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    echo "$pkg.service exposure: $score (limit $MAX_EXPOSURE)"
    [ -n "$score" ] || fail "$pkg: no exposure score"
    awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' || fail "$pkg: exposure $score > $MAX_EXPOSURE"
done

CHART=deploy/helm/relay-agent
step "yamllint"
yamllint -s -c deploy/.yamllint deploy/compose.yaml "$CHART/Chart.yaml" "$CHART"/values*.yaml "$CHART"/examples/*.yaml

step "Helm values against values.schema.json"
python3 - "$CHART" <<'EOF'
import json, pathlib, sys
import jsonschema, yaml
chart = pathlib.Path(sys.argv[1])
schema = json.loads((chart / "values.schema.json").read_text())
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
files = [chart / "values.yaml", *sorted((chart / "examples").glob("*.yaml"))]
bad = 0
for path in files:
    values = yaml.safe_load(path.read_text()) or {}
    if path.parent.name == "examples":  # helm merges examples over the defaults
        base = yaml.safe_load((chart / "values.yaml").read_text())
        def merge(a, b):
            for k, v in b.items():
                a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
            return a
        values = merge(base, values)
    errors = list(validator.iter_errors(values))
    for e in errors:
        print(f"{path}: {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}")
    bad += len(errors)
    print(f"{path}: {'ok' if not errors else 'INVALID'}")
# The schema must also refuse what it exists to refuse.
broken = yaml.safe_load((chart / "values.yaml").read_text())
broken["secrets"]["mode"] = 420  # 0644: secrets must stay owner-only
broken["unexpected"] = True
if not list(validator.iter_errors(broken)):
    print("schema accepts a world-readable secret mode and unknown keys"); bad += 1
sys.exit(1 if bad else 0)
EOF

step "Dockerfiles"
for image in agent broker; do
    file=deploy/container/Dockerfile.$image
    grep -q '^USER 65532:65532' "$file" || fail "$file: not USER 65532:65532"
    grep -A1 '^HEALTHCHECK ' "$file" | grep -q "/usr/bin/relay-$image\", \"healthcheck\"" ||
        fail "$file: no HEALTHCHECK through the healthcheck subcommand"
    grep -q 'org.opencontainers.image.source' "$file" || fail "$file: no OCI labels"
    [ "$(grep -c '^FROM ' "$file")" -ge 2 ] || fail "$file: not a multi-stage build"
done

step "done in $((SECONDS - STARTED))s"
