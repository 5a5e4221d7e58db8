#!/usr/bin/env bash
# The example Ansible role (examples/ansible) against localhost on image files in a temporary directory:
# first run formats, verifies and writes integritytab (changed > 0, images healthy); second run changes nothing;
# --check changes nothing (no image file, integritytab untouched); a corrupted image fails the play and names the
# sector. Installs Debian's ansible-core when ansible-playbook is missing. Last line: "ansible: N passed, N failed".
suite=ansible
source "$(dirname "$0")/../lib/checks.sh"

if ! command -v ansible-playbook >/dev/null 2>&1; then
  apt_install ansible-core
  if ! command -v ansible-playbook >/dev/null 2>&1; then fail "ansible-core could not be installed"; finish; fi
fi
version=$(ansible-playbook --version 2>/dev/null); echo "== ${version%%$'\n'*}"

echo "== building ivol"
ivol_dll=$repo/src/IntegrityVolume.Cli/bin/Release/net8.0/ivol.dll
build_log=$(mktemp)
if ! dotnet build src/IntegrityVolume.Cli -c Release -nologo -v q > "$build_log" 2>&1 || [[ ! -f $ivol_dll ]]; then
  grep -E "error" "$build_log" | sort -u | head -20; rm -f "$build_log"; fail "ivol builds"; finish
fi
rm -f "$build_log"
ivol() { dotnet "$ivol_dll" "$@"; }

work=$(mktemp -d /tmp/ivol-ansible.XXXXXX)
trap 'rm -rf "$work"' EXIT
tab=$work/integritytab
img=$work/img
export ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_HOME=$work/.ansible \
  ANSIBLE_LOCAL_TEMP=$work/.ansible/tmp ANSIBLE_REMOTE_TEMP=$work/.ansible/remote ANSIBLE_DEPRECATION_WARNINGS=0
printf '{"ivol_demo_dir": "%s", "integrity_volume_tab_file": "%s", "integrity_volume_ivol": ["dotnet", "%s"]}\n' \
  "$img" "$tab" "$ivol_dll" > "$work/vars.json"
printf '# managed by hand above this line\n' > "$tab"

# play NAME [ansible-playbook args...]: run site.yml, keep the log in $work/NAME.log, set $rc and $changed.
play() {
  local name=$1; shift
  (cd examples/ansible && ansible-playbook -i inventory/localhost.yml site.yml -e "@$work/vars.json" "$@") > "$work/$name.log" 2>&1
  rc=$?
  changed=$(grep -E '^localhost +:' "$work/$name.log" | sed -E 's/.*changed=([0-9]+).*/\1/' | tail -1)
  echo "-- $name: exit $rc, changed=${changed:-?}"
  if [[ -z $changed ]]; then tail -30 "$work/$name.log"; changed=-1; fi
}
state() { sha256sum "$tab" "$img"/*.img 2>/dev/null; stat -c '%n %Y' "$img"/*.img 2>/dev/null; }

echo "== first run: format, verify, integritytab"
play first
check "first run succeeds" test "$rc" -eq 0
check "first run reports changes (changed=$changed)" test "$changed" -gt 0
check "crc.img verifies healthy" quiet ivol verify "$img/crc.img"
check "sha.img verifies healthy (sha256, 4096-byte blocks)" quiet ivol verify "$img/sha.img" --integrity sha256
check "integritytab is valid for systemd" quiet ivol tab check --file "$tab"
check "integritytab keeps the hand-written line and has both entries" \
  test "$(head -1 "$tab")" = "# managed by hand above this line" -a "$(ivol tab list --file "$tab" --json | grep -c '"name"')" -eq 2
check "integritytab entry of demo-sha carries its options" \
  grep -qx "demo-sha $img/sha.img - integrity-algorithm=sha256,mode=bitmap,allow-discards,nofail" "$tab"
before=$(state)

echo "== second run: nothing to do"
play second
check "second run succeeds" test "$rc" -eq 0
check "second run reports changed=0 (changed=$changed)" test "$changed" -eq 0
check "second run left images and integritytab as they were" test "$before" = "$(state)"

echo "== check mode on the converged host"
play check-converged --check
check "--check on a converged host succeeds with changed=0 (changed=$changed)" test "$rc" -eq 0 -a "$changed" -eq 0

echo "== check mode with a new image"
printf '{"integrity_volume_volumes": [{"name": "fresh", "device": "%s/fresh.img", "size": "16M"}]}\n' "$img" > "$work/fresh.json"
play check-new --check -e "@$work/fresh.json"
check "--check with a new image succeeds and predicts changes (changed=$changed)" test "$rc" -eq 0 -a "$changed" -gt 0
check "--check created no image file" test ! -e "$img/fresh.img"
check "--check left integritytab and images untouched" test "$before" = "$(state)"

echo "== an incomplete verification (exit 6) is reported as such: not healthy, not corrupt"
# no_wipe: formatted RECALCULATING with recalc_sector 0, so no block has a tag yet (docs/reliability.md, "Bounds and
# verdicts"): ivol verify finds nothing wrong and verifies nothing.
printf '{"integrity_volume_volumes": [{"name": "recalc", "device": "%s/recalc.img", "size": "16M", "no_wipe": true, "tab": false}]}\n' "$img" > "$work/recalc.json"
play incomplete -e "@$work/recalc.json"
check "a volume that cannot be fully verified does not fail the play" test "$rc" -eq 0
# With no computed tag there is nothing to detect the algorithm from: it is named, as the role names it.
ivol verify "$img/recalc.img" --integrity crc32c > /dev/null 2>&1; vrc=$?
check "ivol verify exits 6 on it (exit $vrc)" test "$vrc" -eq 6
ivol verify "$img/recalc.img" > "$work/detect.out" 2>&1; vrc=$?
check "without --integrity ivol verify says why it cannot detect the algorithm (exit $vrc)" \
  test "$vrc" -eq 2 -a "$(grep -c 'not recalculated yet.*AlgorithmNotDetected' "$work/detect.out")" -eq 1
check "the role reports it INCOMPLETE with what was not verified" \
  grep -q "recalc.img is INCOMPLETE (exit 6.*0 of 32328 blocks verified (0%). Not verified: Nothing verified: the volume is recalculating from sector 0" "$work/incomplete.log"
check "the role does not report it corrupt" bash -c '! grep -q "CORRUPT" "$1"' _ "$work/incomplete.log"
check "the role records the verdict incomplete, not healthy" grep -q '"recalc": "incomplete"' "$work/incomplete.log"
play incomplete-strict -e "@$work/recalc.json" -e integrity_volume_fail_on_incomplete=true
check "with integrity_volume_fail_on_incomplete it fails the play, still as INCOMPLETE" \
  bash -c '[[ $1 -ne 0 ]] && grep -q "recalc.img is INCOMPLETE" "$2" && ! grep -q "CORRUPT" "$2"' _ "$rc" "$work/incomplete-strict.log"
rm -f "$img/recalc.img"

echo "== corruption fails the play and names the sector"
start=$(ivol dump "$img/crc.img" --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["initialSectors"] + v["metadataRunSectors"])')
printf 'corrupt!' | dd of="$img/crc.img" bs=512 seek=$((start + 16)) conv=notrunc status=none
play corrupt
check "a corrupt volume fails the play" test "$rc" -ne 0
check "the failure names the mismatched sector 16" grep -q "crc.img is CORRUPT: 1 of 129160 blocks.*sectors: 16\." "$work/corrupt.log"
if [[ $failed -gt 0 ]]; then for f in "$work"/*.log; do echo "---- $f"; tail -25 "$f"; done; fi
finish
