#!/bin/bash
# The whole real Nanao 2024 history (117 snapshots, 8 months) replayed by
# tools/replay through real agents, a real mosquitto and a real HQ, as
# fast as they go; then HQ's timeline must agree, snapshot by snapshot,
# with the files themselves: at each snapshot's time, the people counted
# and the shelters with people.  The expected values are computed here
# from the CSV files, independently of tools/replay.
. "$(dirname "$0")/lib.sh"

HISTORY=$ROOT/data/nanao-2024/history

start_broker || { not_ok "start mosquitto"; done_testing; exit 1; }
write_hq_conf
start_hq

# --- the replay itself; its errors name file and line
mkdir -p "$T/bad"
cp "$HISTORY/open_shelter_Nanao-shi_2024-01-11-1800.csv" "$T/bad/"
sed -i '3s/,[0-9]*,令和6年/,12x,令和6年/' "$T/bad/open_shelter_Nanao-shi_2024-01-11-1800.csv"
check "a malformed headcount is refused naming file:line" \
	sh -c "! '$ROOT/tools/replay' --broker '$BROKER' --workdir '$T/bad-work' \
		--agent '$AGENT' --history '$T/bad' 2>'$T/err' &&
		grep -q 'open_shelter_Nanao-shi_2024-01-11-1800.csv:3: headcount .12x.' '$T/err'"

# Under the sanitizers (make sanitize) every agent command runs several
# times slower: the first 25 snapshots exercise the same code in CI's time.
NSNAP=117 SUMMARY='117 snapshots, 1504 reports, 34 shelters' PLAYED=$HISTORY
if [ -n "${SL_SANITIZE:-}" ]; then
	NSNAP=25 SUMMARY='25 snapshots,' PLAYED=$T/first25
	mkdir "$PLAYED"
	ls "$HISTORY"/open_shelter_Nanao-shi_*.csv | sort | head -25 | xargs cp -t "$PLAYED"
fi
start=$SECONDS
check "tools/replay plays all $NSNAP snapshots and HQ acknowledges every report" \
	sh -c "'$ROOT/tools/replay' --broker '$BROKER' --workdir '$T/replay' \
		--agent '$AGENT' --history '$PLAYED' --speed 0 --drain-timeout 120 >'$T/replay.log' 2>&1"
echo "# replay took $((SECONDS - start)) s"
check "the summary counts snapshots, reports and shelters" \
	grep -q "done in .*: $SUMMARY" "$T/replay.log"
check "the summary carries the data credit" grep -q 'CC BY 4.0' "$T/replay.log"
check "the agents' logs are free of sanitizer and valgrind reports" \
	sh -c "! grep -qE 'Sanitizer|runtime error|^==[0-9]+== ' '$T'/replay/*.log"

# --- HQ's timeline against the files
"$HQ" -c "$T/hq.conf" timeline --format json >"$T/timeline.json"
python3 - "$PLAYED" "$T/timeline.json" "$NSNAP" >"$T/compare.tap" <<'PY'
import csv, datetime, glob, json, os, re, sys

jst = datetime.timezone(datetime.timedelta(hours=9))
def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))

timeline = {instant(r["time"]): r for r in json.load(open(sys.argv[2]))}
files = sorted(glob.glob(os.path.join(sys.argv[1], "open_shelter_Nanao-shi_*.csv")))
bad = []
for path in files:
    y, mo, d, h, mi = map(int, re.search(
        r"(\d{4})-(\d\d)-(\d\d)-(\d\d)(\d\d)\.csv$", path).groups())
    when = datetime.datetime(y, mo, d, h, mi, tzinfo=jst)
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    col = next(k for k in rows[0] if k.startswith("人数"))
    want = (sum(1 for r in rows if int(r[col]) > 0), sum(int(r[col]) for r in rows))
    got = timeline.get(when)
    got = (got["shelters"], got["total"]) if got else None
    if got != want:
        bad.append("%s: want (shelters, total) %s, HQ says %s"
                   % (os.path.basename(path), want, got))
name = "HQ's timeline matches all %d snapshot files" % len(files)
print(("not ok - " if bad or len(files) != int(sys.argv[3]) else "ok - ") + name)
for b in bad[:20]:
    print("# " + b)
print("%s - the timeline has one entry per snapshot (%d)"
      % ("ok" if len(timeline) == len(files) else "not ok", len(timeline)))
PY
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done <"$T/compare.tap"

"$HQ" -c "$T/hq.conf" timeline --format csv >"$T/timeline.csv"
check "timeline CSV starts with the UTF-8 BOM, then its header" \
	[ "$(head -1 "$T/timeline.csv")" = $'\xef\xbb\xbftime,shelters,total\r' ]
check "timeline CSV has a line per snapshot after the header" \
	[ "$(wc -l <"$T/timeline.csv")" = $((NSNAP + 1)) ]
if [ "$NSNAP" = 117 ]; then
	check "the last entry: the final snapshot's 40 people in one shelter" \
		sh -c "'$HQ' -c '$T/hq.conf' timeline | tail -1 | grep -qE '^2024-08-31T13:00:00\+09:00 +1 +40$'"
fi
check "timeline refuses geojson" \
	sh -c "! '$HQ' -c '$T/hq.conf' timeline --format geojson 2>/dev/null"

done_testing
