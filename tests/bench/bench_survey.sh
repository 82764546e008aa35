#!/bin/bash
# hq survey intake (issue 6, "Must show"): Kumamoto scale, 100,000
# buildings, 60,000 applications and 100,000 drone features imported and
# triaged, each timed end to end as an operator runs it (a fresh process,
# the file read, checked, matched and committed), beside a baseline in
# the same run that does less: parsing the GeoJSON alone (python3
# json.load), sqlite3's .import of the same rows as plain CSV, and
# triage's rules as one SQL UPDATE without reasons or audit.  Goal:
# under 10 s each.  The files come from tests/bench/survey_gen.py (seeded).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
secs() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; awk "BEGIN { print $EPOCHREALTIME - $t0 }"; }
parse() { python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$1"; }
csv_import() { sqlite3 "$T/base.db" ".mode csv" ".import $1 $2"; }
python3 tests/bench/survey_gen.py "$T" --seed "${SURVEY_SEED:-20160416}"
printf 'database = %s/hq.db\nmunicipality = 431001\n' "$T" >"$T/hq.conf"
hqc() { "$B/hq" -c "$T/hq.conf" survey "$@"; }
row() { # step, rows, hq seconds, baseline seconds, baseline
	printf '| %s | %s | %.2f s | %.2f s | %s | %.1f |\n' "$1" "$2" "$3" "$4" "$5" \
		"$(awk "BEGIN { print $3 / $4 }")"
}
echo
echo "| step | rows | hq survey | baseline | baseline is | ratio |"
echo "|---|---|---|---|---|---|"
t=$(secs hqc import-buildings "$T/buildings.geojson")
row "import-buildings (GeoJSON footprints)" 100000 "$t" "$(secs parse "$T/buildings.geojson")" "python3 json.load"
t=$(secs hqc import-applications "$T/applications.csv")
row "import-applications (match, duplicates)" 60000 "$t" "$(secs csv_import "$T/applications.csv" apps)" "sqlite3 .import"
t=$(secs hqc import-drone "$T/drone.geojson")
row "import-drone (match to footprints)" 100000 "$t" "$(secs parse "$T/drone.geojson")" "python3 json.load"
cp "$T/hq.db" "$T/rules.db"
t=$(secs hqc triage)
base=$(secs sqlite3 "$T/rules.db" "
UPDATE applications SET lane = CASE
  WHEN (SELECT max(confidence) FROM drone_features d WHERE d.building_id = applications.building_id AND damage = 'destroyed') >= 0.8 THEN 'photo'
  WHEN second_survey THEN 'interior'
  WHEN consent_self AND (SELECT count(*) FROM drone_features d WHERE d.building_id = applications.building_id) > 0
   AND NOT EXISTS (SELECT 1 FROM drone_features d WHERE d.building_id = applications.building_id
                   AND damage NOT IN ('no-damage','minor-damage')) THEN 'self'
  ELSE 'field' END
WHERE state = 'received' AND duplicate_of IS NULL AND matched_by <> 'ambiguous'")
row "triage (lanes, reasons, audit)" 60000 "$t" "$base" "one SQL UPDATE"
echo
sqlite3 "$T/hq.db" "SELECT 'lanes: ' || group_concat(lane || ' ' || n, ', ') FROM (SELECT coalesce(lane, 'held') AS lane, count(*) AS n FROM applications GROUP BY 1 ORDER BY 1)"
sqlite3 "$T/hq.db" "SELECT 'matched: ' || group_concat(matched_by || ' ' || n, ', ') FROM (SELECT matched_by, count(*) AS n FROM applications GROUP BY 1 ORDER BY 1)"
sqlite3 "$T/hq.db" "SELECT 'drone features matched: ' || count(building_id) || ' of ' || count(*) FROM drone_features"
echo "same lanes as the SQL baseline: $(sqlite3 "$T/hq.db" "ATTACH '$T/rules.db' AS r; SELECT count(*) FROM applications a JOIN r.applications b USING (application_id) WHERE a.lane IS NOT b.lane") differ"
