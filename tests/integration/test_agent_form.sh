#!/bin/bash
# `shelter-agent form` on a real terminal: each session runs in a private
# tmux server (its own socket under $T), keys are typed with send-keys and
# the screen is read with capture-pane.  A Japanese session with a refused
# answer, Enter keeping the previous values, English prompts, Ctrl-C
# leaving a draft that the next run resumes, and "n" storing nothing.
. "$(dirname "$0")/lib.sh"

if ! command -v tmux >/dev/null 2>&1; then
	not_ok "tmux is installed (make deps)"
	done_testing
	exit 1
fi
# tmux needs a UTF-8 locale to keep Japanese on the screen.
export LC_ALL=C.UTF-8
BROKER=tcp://127.0.0.1:1 # never contacted: form only writes the outbox
WAIT=${FORM_WAIT:-30}    # seconds for any one screen change
TMUX_SOCK="$T/tmux.sock"
tm() { tmux -S "$TMUX_SOCK" -f /dev/null "$@"; }
trap 'tm kill-server 2>/dev/null; cleanup' EXIT

# form_start ID [ARGS]: `form` for shelter ID in a new tmux session ID;
# its exit status is shown as "[exit N]" and the pane stays open.
form_start() {
	local id=$1
	shift
	SENT=0
	tm new-session -d -s "$id" -x 150 -y 50 \
		"'$AGENT' -c '$T/agent-$id.conf' form $* 2>>'$T/form-$id.log'; echo \"[exit \$?]\"; sleep 600"
}

screen() { tm capture-pane -p -J -S - -t "$1"; }
# prompt lines on the screen so far (each ends with " > ", then the answer)
prompts() { screen "$1" | grep -cE ' >( |$)'; }
# ready ID TEXT: a new prompt containing TEXT waits for an answer.
ready() {
	local last
	[ "$(prompts "$1")" -gt "$SENT" ] || return 1
	last=$(screen "$1" | grep -v '^ *$' | tail -n 1)
	[[ $last == *"$2"* && $last =~ \>\ *$ ]]
}
shows() { screen "$1" | grep -qF -- "$2"; }

# until_true COMMAND...: retries for $WAIT seconds; on failure the screen
# goes to the TAP output as comments.
until_true() {
	local end=$((SECONDS + WAIT))
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	echo "# waited ${WAIT}s for: $*; the screen:"
	screen "$2" | grep -v '^ *$' | tail -25 | sed 's/^/#   /'
	return 1
}

# answer ID PROMPT VALUE: waits for the prompt, types VALUE and Enter.
answer() {
	until_true ready "$1" "$2" || return 1
	[ -z "$3" ] || tm send-keys -t "$1" -l -- "$3"
	tm send-keys -t "$1" Enter
	SENT=$((SENT + 1))
}

# enter_until ID TEXT: Enter at every prompt until one contains TEXT.
enter_until() {
	local i
	for i in $(seq 40); do
		until_true ready "$1" "" || return 1
		ready "$1" "$2" && return 0
		tm send-keys -t "$1" Enter
		SENT=$((SENT + 1))
	done
	return 1
}

payload() {
	sqlite3 "$T/agent-$1.db" "SELECT payload FROM outbox ORDER BY seq DESC LIMIT 1"
}
# report_has ID PYTHON-EXPRESSION: true about `m`, the newest stored report.
report_has() {
	payload "$1" | python3 -c 'import json, sys
m = json.load(sys.stdin)
sys.exit(0 if eval(sys.argv[1]) else 1)' "$2" 2>/dev/null
}
stored() { sqlite3 "$T/agent-$1.db" "SELECT count(*) FROM outbox"; }

# --- (1) a Japanese session: a refused answer, its reason, the re-ask
write_agent_conf FORM01 "山王小学校"
japanese_session() {
	answer FORM01 "(1/15) いま避難所にいる人は全部で何人ですか？" 10 &&
		answer FORM01 "(2/15) そのうち乳幼児は何人ですか？" 11 &&
		until_true shows FORM01 "乳幼児の数(11)が避難者数(10)を超えています。" &&
		answer FORM01 "(2/15)" 2 &&
		answer FORM01 "(3/15)" 3 &&
		answer FORM01 "(4/15)" 4 &&
		answer FORM01 "(5/15)" "" &&
		answer FORM01 "(6/15)" "" &&
		answer FORM01 "(7/15)" 1 &&
		answer FORM01 "(8/15)" "" &&
		answer FORM01 "(9/15)" "" &&
		answer FORM01 "(10/15)" 2 &&
		answer FORM01 "(11/15) 電気は使えますか" y &&
		answer FORM01 "(12/15) 水道の水は出ますか" n &&
		answer FORM01 "(13/15)" 2 || return 1
	# the drinking water's number in the list on the screen
	local water
	water=$(screen FORM01 | sed -n 's/^ *\([0-9]*\)  飲料水（2Lペットボトル）$/\1/p')
	[ -n "$water" ] &&
		answer FORM01 "(14/15) 追加する物資の番号" "$water" &&
		answer FORM01 "飲料水（2Lペットボトル）: 何本必要ですか" 20 &&
		answer FORM01 "急ぎ具合は？" 1 &&
		answer FORM01 "(14/15) 追加する物資の番号" "" &&
		answer FORM01 "(15/15) 本部への連絡事項" "断水中" &&
		answer FORM01 "保存しますか？" y &&
		until_true shows FORM01 "[exit 0]"
}
form_start FORM01
check "(1) a Japanese session runs to the end" japanese_session
screen FORM01 >"$T/screen-ja.txt"
check "(1) the refused answer's reason is on the screen, then (2/15) again" \
	sh -c "grep -A1 -xF '乳幼児の数(11)が避難者数(10)を超えています。' '$T/screen-ja.txt' | grep -q '^(2/15) そのうち乳幼児は何人ですか？ \\[不明\\] > 2'"
check "(1) the summary lists the need in plain words" \
	grep -qF "飲料水（2Lペットボトル） 20本（緊急）" "$T/screen-ja.txt"
check "(1) the sequence number is printed" \
	grep -qF "保存しました。番号: 1" "$T/screen-ja.txt"
check "(1) the stored report has the values entered" \
	report_has FORM01 'm["seq"] == 1 and m["headcount"] == {"total": 10, "infants": 2, "children": 3, "elderly": 4, "disabled": 1, "pets": 2} and m["lifelines"] == {"power": True, "water": False, "toilets_usable": 2} and m["needs"] == [{"item": "water_drinking", "qty": 20, "urgency": "critical"}] and m["note"] == "断水中"'
check "(1) no draft is left after saving" [ ! -e "$T/agent-FORM01.db.form-draft.json" ]
tm kill-session -t FORM01

# --- (2) Enter everywhere keeps the previous report's values
first=$(payload FORM01)
form_start FORM01
defaults_session() {
	until_true ready FORM01 "(1/15) いま避難所にいる人は全部で何人ですか？ [10]" &&
		enter_until FORM01 "保存しますか？" &&
		answer FORM01 "保存しますか？" y &&
		until_true shows FORM01 "保存しました。番号: 2"
}
check "(2) a second run offers [10] and saves with Enter at every question" \
	defaults_session
same_values() {
	payload FORM01 | python3 -c 'import json, sys
a, b = json.loads(sys.argv[1]), json.load(sys.stdin)
keys = ("headcount", "lifelines", "needs", "note")
sys.exit(0 if b["seq"] == 2 and all(a[k] == b[k] for k in keys) else 1)' "$first"
}
check "(2) the second report repeats the first one's values" same_values
tm kill-session -t FORM01

# --- (3) --lang en
write_agent_conf FORM02 "Sanno Elementary School"
english_session() {
	answer FORM02 "(1/15) How many people are at the shelter now, in total?" ten &&
		until_true shows FORM02 "Total people: please enter a number (for example 12)." &&
		answer FORM02 "(1/15)" 5 &&
		until_true ready FORM02 "(2/15) How many of them are infants? [unknown]" &&
		enter_until FORM02 "Save this report?" &&
		answer FORM02 "Save this report?" y &&
		until_true shows FORM02 "Saved. Number: 1"
}
form_start FORM02 --lang en
check "(3) --lang en asks, refuses and confirms in English" english_session
no_japanese() {
	screen FORM02 | python3 -c 'import re, sys
sys.exit(1 if re.search("[\u3040-\u30ff\u4e00-\u9fff]", sys.stdin.read()) else 0)'
}
check "(3) no Japanese on the English screen" no_japanese
check "(3) the English session stored total 5" report_has FORM02 'm["headcount"] == {"total": 5}'
tm kill-session -t FORM02

# --- (3b) the `language` setting chooses the default; through a pipe,
# the end of input keeps the answers as a draft
write_agent_conf FORM05 "Nakajima"
echo "language = en" >>"$T/agent-FORM05.conf"
printf '5\n' | agent FORM05 form >"$T/pipe.out" 2>>"$T/form-FORM05.log"
check "(3b) the end of input, nothing saved: exit status 1" \
	[ $? = 1 ]
check "(3b) language = en: English without --lang, the answers kept as a draft" \
	grep -qF "Stopped. What you entered so far is saved as a draft" "$T/pipe.out"
check "(3b) --lang ja overrides the setting" \
	sh -c "printf 'y\n' | '$AGENT' -c '$T/agent-FORM05.conf' form --lang ja | grep -qF '続きから入力しますか？'"

# --- (4) Ctrl-C mid-form keeps a draft; the next run resumes it
write_agent_conf FORM03 "御祓地区コミュニティセンター"
interrupted_session() {
	answer FORM03 "(1/15)" 30 &&
		answer FORM03 "(2/15)" 4 &&
		until_true ready FORM03 "(3/15)" &&
		tm send-keys -t FORM03 C-c &&
		until_true shows FORM03 "中断しました。ここまでの入力を下書きとして保存しました" &&
		until_true shows FORM03 "[exit 1]"
}
form_start FORM03
check "(4) Ctrl-C at question 3 says the answers are kept as a draft" \
	interrupted_session
check "(4) the draft is next to the database and holds the answers" \
	grep -qF '"total":"30","infants":"4"' "$T/agent-FORM03.db.form-draft.json"
check "(4) nothing was stored" [ "$(stored FORM03)" = 0 ]
tm kill-session -t FORM03
resumed_session() {
	answer FORM03 "続きから入力しますか？" y &&
		until_true ready FORM03 "(3/15) 子どもは何人ですか？" &&
		enter_until FORM03 "保存しますか？" &&
		answer FORM03 "保存しますか？" y &&
		until_true shows FORM03 "保存しました。番号: 1"
}
form_start FORM03
check "(4) the next run offers the draft and continues at question 3" \
	resumed_session
check "(4) the resumed answers are in the stored report" \
	report_has FORM03 'm["headcount"] == {"total": 30, "infants": 4}'
check "(4) the saved report deleted the draft" \
	[ ! -e "$T/agent-FORM03.db.form-draft.json" ]
tm kill-session -t FORM03

# --- (5) "n" at the confirmation stores nothing
write_agent_conf FORM04 "中島小学校"
declined_session() {
	answer FORM04 "(1/15)" 8 &&
		enter_until FORM04 "保存しますか？" &&
		answer FORM04 "保存しますか？" n &&
		until_true shows FORM04 "保存しませんでした。" &&
		until_true shows FORM04 "[exit 1]"
}
form_start FORM04
check "(5) answering n says nothing was saved" declined_session
check "(5) the outbox is empty" [ "$(stored FORM04)" = 0 ]
check "(5) the answers are kept as a draft" \
	grep -qF '"total":"8"' "$T/agent-FORM04.db.form-draft.json"
tm kill-session -t FORM04

check "form wrote nothing to stderr" sh -c "! cat '$T'/form-*.log | grep -q ."
done_testing
