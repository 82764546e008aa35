/*
 * form.c - `shelter-agent form`: a status report asked for question by
 * question on a terminal, for shelter staff who are not IT people.
 *
 * Japanese by default, English with --lang en; every message of both
 * languages sits in one table, so the logic exists once.  The previous
 * report's values are offered as defaults.  Each answer is checked as it
 * is typed by building the report so far with report_from_args() and
 * report_check(): the rules stay in the status schema and in rules.c, and
 * this file only puts their reasons into plain words.  A summary is
 * confirmed before outbox_add() stores the report durably.
 *
 * Nothing typed is lost silently: a stop (Ctrl-C, hang-up, end of input)
 * or a "no" at the confirmation keeps the answers in a draft next to the
 * database (DATABASE.form-draft.json, written with write, fsync and
 * rename), which the next run offers to resume; a saved report deletes it.
 *
 * Not a full-screen interface: plain lines on stdin/stdout, so it works
 * over ssh, in tmux and through a pipe.  Not a second way to state rules:
 * only the syntax of a yes/no, a choice or an item number is checked here.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "msg.h"

/* The longest answer line read (a 1000-character note is up to 4000
 * bytes of UTF-8); longer lines are refused whole. */
#define LINE_BYTES 4200
/* A draft larger than this is not ours. */
#define DRAFT_MAX_BYTES (256 * 1024)
#define DRAFT_MAX_NEEDS 1000

/* ---- the message table: one row per message, both languages ---- */

enum msg_id {
	M_INTRO,
	M_SHELTER,
	M_RESUME,
	M_DRAFT_BAD,
	M_L_TOTAL,
	M_L_INFANTS,
	M_L_CHILDREN,
	M_L_ELDERLY,
	M_L_CARE,
	M_L_PREGNANT,
	M_L_DISABLED,
	M_L_MEDICAL,
	M_L_FOREIGN,
	M_L_PETS,
	M_L_POWER,
	M_L_WATER,
	M_L_TOILETS,
	M_L_NEEDS,
	M_L_NOTE,
	M_Q_TOTAL,
	M_Q_INFANTS,
	M_Q_CHILDREN,
	M_Q_ELDERLY,
	M_Q_CARE,
	M_Q_PREGNANT,
	M_Q_DISABLED,
	M_Q_MEDICAL,
	M_Q_FOREIGN,
	M_Q_PETS,
	M_Q_POWER,
	M_Q_WATER,
	M_Q_TOILETS,
	M_Q_NEEDS,
	M_Q_NOTE,
	M_YES,
	M_NO,
	M_UNKNOWN,
	M_NONE,
	M_NEED_LIST,
	M_NEED_ADD,
	M_NEED_QTY,
	M_NEED_QTY_NEW,
	M_NEED_URGENCY,
	M_NEED_REMOVED,
	M_NEED_LINE,
	M_URG_CRITICAL,
	M_URG_HIGH,
	M_URG_NORMAL,
	M_SUMMARY,
	M_CONFIRM,
	M_CANNOT_SAVE,
	M_SAVED,
	M_NOT_SAVED,
	M_STOPPED_DRAFT,
	M_STOPPED_NOTHING,
	M_STOPPED_KEPT,
	M_DRAFT_FAILED,
	M_DRAFT_NOT_REMOVED,
	M_SAVE_FAILED,
	M_DRAFT_KEPT,
	M_ERR_REQUIRED,
	M_ERR_NUMBER,
	M_ERR_YESNO,
	M_ERR_GROUP,
	M_ERR_MIN,
	M_ERR_MAX,
	M_ERR_LONG,
	M_ERR_MANY,
	M_ERR_UTF8,
	M_ERR_LINE,
	M_ERR_TOO_LARGE,
	M_ERR_NO_ITEM,
	M_ERR_UNKNOWN_ITEM,
	M_ERR_DUP_ITEM,
	M_ERR_IN_LIST,
	M_ERR_URGENCY,
	M_ERR_CHOICE,
	M_ERR_OTHER,
	M_COUNT
};

/* One row per message, the languages side by side (not reflowed). */
/* clang-format off */
/* printf formats; the two languages of a row take the same arguments
 * in the same order (checked by messages_agree()). */
static const struct text {
	const char *ja, *en;
} texts[M_COUNT] = {
	[M_INTRO] = {
		"避難所の状況を本部に報告します。質問に順に答えてください。\n"
		"  ・[ ] の中は前回の値です。同じでよければそのまま Enter を押します。\n"
		"  ・わからないときは - を入力すると「不明」になります。\n"
		"  ・一人が複数に当てはまるとき（例: 介助が必要な高齢者）は、それぞれに数えます。\n"
		"  ・途中でやめるときは Ctrl-C。入力した分は下書きとして残ります。\n",
		"Shelter status report for HQ. Please answer the questions in turn.\n"
		"  - The value in [ ] is the previous one: press Enter to keep it.\n"
		"  - If you do not know, type - and it is reported as \"unknown\".\n"
		"  - Count a person in every group that fits (an elderly person\n"
		"    needing care counts as elderly and as needing care).\n"
		"  - To stop, press Ctrl-C: what you entered is kept as a draft.\n" },
	[M_SHELTER] = { "避難所: %s\n\n", "Shelter: %s\n\n" },
	[M_RESUME] = {
		"途中まで入力した下書きがあります（%s に保存）。続きから入力しますか？ (y=続きから / n=最初から)",
		"There is an unfinished report, saved at %s. Continue it? (y = continue / n = start again)" },
	[M_DRAFT_BAD] = {
		"下書きを読めませんでした（%s）。最初から入力します。\n",
		"Could not read the draft (%s); starting again.\n" },
	[M_L_TOTAL] = { "避難者数", "Total people" },
	[M_L_INFANTS] = { "乳幼児", "Infants" },
	[M_L_CHILDREN] = { "子ども", "Children" },
	[M_L_ELDERLY] = { "高齢者", "Elderly" },
	[M_L_CARE] = { "要配慮者", "Needing care" },
	[M_L_PREGNANT] = { "妊婦", "Pregnant" },
	[M_L_DISABLED] = { "障害のある方", "With a disability" },
	[M_L_MEDICAL] = { "医療が必要な方", "Needing medical care" },
	[M_L_FOREIGN] = { "外国語を話す方", "Foreign-language speakers" },
	[M_L_PETS] = { "ペット", "Pets" },
	[M_L_POWER] = { "電気", "Electricity" },
	[M_L_WATER] = { "水道", "Running water" },
	[M_L_TOILETS] = { "使えるトイレ", "Usable toilets" },
	[M_L_NEEDS] = { "必要な物資", "Supplies needed" },
	[M_L_NOTE] = { "連絡事項", "Note" },
	[M_Q_TOTAL] = { "いま避難所にいる人は全部で何人ですか？",
			"How many people are at the shelter now, in total?" },
	[M_Q_INFANTS] = { "そのうち乳幼児は何人ですか？",
			  "How many of them are infants?" },
	[M_Q_CHILDREN] = { "子どもは何人ですか？", "How many are children?" },
	[M_Q_ELDERLY] = { "高齢者は何人ですか？", "How many are elderly?" },
	[M_Q_CARE] = { "要配慮者（介助や見守りが必要な方）は何人ですか？",
		       "How many need care or assistance?" },
	[M_Q_PREGNANT] = { "妊婦の方は何人ですか？",
			   "How many are pregnant?" },
	[M_Q_DISABLED] = { "障害のある方は何人ですか？",
			   "How many have a disability?" },
	[M_Q_MEDICAL] = {
		"医療が必要な方（持病・けが・薬が必要など）は何人ですか？",
		"How many need medical care (illness, injury, medication)?" },
	[M_Q_FOREIGN] = {
		"外国語を話す方（日本語での会話が難しい方）は何人ですか？",
		"How many speak a foreign language (little Japanese)?" },
	[M_Q_PETS] = { "ペットは何匹いますか？", "How many pets are there?" },
	[M_Q_POWER] = { "電気は使えますか（発電機を含む）？ (はい=y / いいえ=n)",
			"Is there electricity (a generator counts)? (y/n)" },
	[M_Q_WATER] = { "水道の水は出ますか？ (はい=y / いいえ=n)",
			"Is there running water? (y/n)" },
	[M_Q_TOILETS] = {
		"使えるトイレはいくつありますか（仮設トイレを含む。携帯トイレは数えません）？",
		"How many toilets can be used (installed or temporary, not portable kits)?" },
	[M_Q_NEEDS] = { "足りない物資を入力します。\n",
			"Supplies that are needed now.\n" },
	[M_Q_NOTE] = { "本部への連絡事項があれば書いてください。",
		       "Anything else to tell HQ?" },
	[M_YES] = { "はい", "yes" },
	[M_NO] = { "いいえ", "no" },
	[M_UNKNOWN] = { "不明", "unknown" },
	[M_NONE] = { "なし", "none" },
	[M_NEED_LIST] = {
		"  物資の番号（一覧にない物は品目コードでも入力できます）:\n",
		"  Supply numbers (or type a catalogue item code):\n" },
	[M_NEED_ADD] = { "追加する物資の番号（終わりは Enter）",
			 "Number of a supply to add (Enter when done)" },
	[M_NEED_QTY] = { "%s: あと何%s必要ですか（0 = もう要らない）",
			 "%s: how many %s are still needed (0 = no longer needed)?" },
	[M_NEED_QTY_NEW] = { "%s: 何%s必要ですか（0 = やめる）",
			     "%s: how many %s are needed (0 = cancel)?" },
	[M_NEED_URGENCY] = { "急ぎ具合は？ 1=緊急 2=高 3=通常",
			     "How urgent? 1 = critical, 2 = high, 3 = normal" },
	[M_NEED_REMOVED] = { "  %s を一覧から外しました。\n",
			     "  %s taken off the list.\n" },
	[M_NEED_LINE] = { "%s %s%s（%s）", "%s: %s %s (%s)" },
	[M_URG_CRITICAL] = { "緊急", "critical" },
	[M_URG_HIGH] = { "高", "high" },
	[M_URG_NORMAL] = { "通常", "normal" },
	[M_SUMMARY] = { "\n---- 入力内容の確認 ----\n", "\n---- Please check ----\n" },
	[M_CONFIRM] = {
		"保存しますか？ (y=保存する / n=保存しない / 番号=その項目を直す)",
		"Save this report? (y = save / n = do not save / a number = change that item)" },
	[M_CANNOT_SAVE] = { "このままでは保存できません: ",
			    "This cannot be saved as it is: " },
	[M_SAVED] = { "保存しました。番号: %lld\n", "Saved. Number: %lld\n" },
	[M_NOT_SAVED] = {
		"保存しませんでした。入力内容は下書きとして残してあります。\n"
		"次に form を実行すると続きから直せます。\n",
		"Not saved. What you entered is kept as a draft;\n"
		"run form again to continue.\n" },
	[M_STOPPED_DRAFT] = {
		"\n中断しました。ここまでの入力を下書きとして保存しました（%s）。\n"
		"次に form を実行すると続きから入力できます。\n",
		"\nStopped. What you entered so far is saved as a draft (%s).\n"
		"Run form again to continue.\n" },
	[M_STOPPED_NOTHING] = {
		"\n中断しました。まだ何も入力していないので、何も保存していません。\n",
		"\nStopped. Nothing was entered, so nothing was saved.\n" },
	[M_STOPPED_KEPT] = { "\n中断しました。下書きはそのまま残っています。\n",
			     "\nStopped. The draft is still there.\n" },
	[M_DRAFT_FAILED] = { "\n下書きを保存できませんでした: %s\n",
			     "\nCould not save the draft: %s\n" },
	[M_DRAFT_NOT_REMOVED] = { "（古い下書きを消せませんでした: %s）\n",
				  "(Could not delete the old draft: %s)\n" },
	[M_SAVE_FAILED] = { "保存できませんでした: %s\n",
			    "Could not save: %s\n" },
	[M_DRAFT_KEPT] = { "入力内容は下書きとして残しました（%s）。\n",
			   "What you entered is kept as a draft (%s).\n" },
	[M_ERR_REQUIRED] = { "%sを入力してください。\n",
			     "Please enter %s.\n" },
	[M_ERR_NUMBER] = { "%s: 数字で入力してください（例: 12）。\n",
			   "%s: please enter a number (for example 12).\n" },
	[M_ERR_YESNO] = { "y（はい）か n（いいえ）で答えてください。\n",
			  "Please answer y (yes) or n (no).\n" },
	[M_ERR_GROUP] = { "%sの数(%lld)が避難者数(%lld)を超えています。\n",
			  "%s (%lld) is more than the total number of people (%lld).\n" },
	[M_ERR_MIN] = { "%sは%s以上にしてください。\n",
			"%s must be at least %s.\n" },
	[M_ERR_MAX] = { "%sは%s以下にしてください。\n",
			"%s must be at most %s.\n" },
	[M_ERR_LONG] = { "%sが長すぎます（%s文字まで）。\n",
			 "%s is too long (at most %s characters).\n" },
	[M_ERR_MANY] = { "%sは%s件までです。\n", "%s: at most %s entries.\n" },
	[M_ERR_UTF8] = { "%sに使えない文字が含まれています。\n",
			 "%s contains characters that cannot be used.\n" },
	[M_ERR_LINE] = { "長すぎます。短くして入力し直してください。\n",
			 "That is too long; please enter it again, shorter.\n" },
	[M_ERR_TOO_LARGE] = {
		"報告が大きすぎて送れません。連絡事項を短くするか、物資を減らしてください。\n",
		"The report is too large to send: shorten the note or list fewer supplies.\n" },
	[M_ERR_NO_ITEM] = { "その番号の物資はありません。\n",
			    "There is no supply with that number.\n" },
	[M_ERR_UNKNOWN_ITEM] = {
		"%s は物資の一覧（カタログ）にありません。0 を入力して外してください。\n",
		"%s is not in the item catalogue; enter 0 to take it off.\n" },
	[M_ERR_DUP_ITEM] = { "%s が二回入っています。\n",
			     "%s is listed twice.\n" },
	[M_ERR_IN_LIST] = { "  %s はもう入っています。数を直せます。\n",
			    "  %s is already listed; you can change it.\n" },
	[M_ERR_URGENCY] = { "1、2、3 のどれかで答えてください。\n",
			    "Please answer 1, 2 or 3.\n" },
	[M_ERR_CHOICE] = { "y、n、または直したい項目の番号を入力してください。\n",
			   "Please answer y, n or the number of the item to change.\n" },
	[M_ERR_OTHER] = { "受け付けられません: %s\n", "Not accepted: %s\n" },
};
/* clang-format on */

/* ---- what the form asks, in order ---- */

enum kind { K_COUNT, K_YESNO, K_NEEDS, K_TEXT };

/* `flag` is report_from_args' option and the draft's key; obj/key say
 * where the status report keeps the answer (obj NULL: top level). */
static const struct field {
	const char *flag, *obj, *key;
	enum kind kind;
	int required;
	enum msg_id label, question;
} fields[] = {
	{"total", "headcount", "total", K_COUNT, 1, M_L_TOTAL, M_Q_TOTAL},
	{"infants", "headcount", "infants", K_COUNT, 0, M_L_INFANTS,
	 M_Q_INFANTS},
	{"children", "headcount", "children", K_COUNT, 0, M_L_CHILDREN,
	 M_Q_CHILDREN},
	{"elderly", "headcount", "elderly", K_COUNT, 0, M_L_ELDERLY,
	 M_Q_ELDERLY},
	{"care", "headcount", "care", K_COUNT, 0, M_L_CARE, M_Q_CARE},
	{"pregnant", "headcount", "pregnant", K_COUNT, 0, M_L_PREGNANT,
	 M_Q_PREGNANT},
	{"disabled", "headcount", "disabled", K_COUNT, 0, M_L_DISABLED,
	 M_Q_DISABLED},
	{"medical", "headcount", "medical", K_COUNT, 0, M_L_MEDICAL,
	 M_Q_MEDICAL},
	{"foreign", "headcount", "foreign", K_COUNT, 0, M_L_FOREIGN,
	 M_Q_FOREIGN},
	{"pets", "headcount", "pets", K_COUNT, 0, M_L_PETS, M_Q_PETS},
	{"power", "lifelines", "power", K_YESNO, 0, M_L_POWER, M_Q_POWER},
	{"water", "lifelines", "water", K_YESNO, 0, M_L_WATER, M_Q_WATER},
	{"toilets", "lifelines", "toilets_usable", K_COUNT, 0, M_L_TOILETS,
	 M_Q_TOILETS},
	{"needs", NULL, "needs", K_NEEDS, 0, M_L_NEEDS, M_Q_NEEDS},
	{"note", NULL, "note", K_TEXT, 0, M_L_NOTE, M_Q_NOTE},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct urgency {
	const char *code;
	enum msg_id label;
} urgencies[] = {
	{"critical", M_URG_CRITICAL},
	{"high", M_URG_HIGH},
	{"normal", M_URG_NORMAL},
};
#define NURGENCIES     (sizeof(urgencies) / sizeof(urgencies[0]))
#define URGENCY_NORMAL 2

/* Catalogue units in plain words (a Japanese counter, an English plural);
 * a unit not listed is shown as its code. */
static const struct unit {
	const char *code, *ja, *en;
} units[] = {
	{"meal", "食", "meals"},
	{"piece", "個", "pieces"},
	{"can_800g", "缶", "cans (800 g)"},
	{"can", "缶", "cans"},
	{"use", "回分", "uses"},
	{"roll", "ロール", "rolls"},
	{"bottle_2l", "本", "bottles"},
	{"bottle_500ml", "本", "bottles"},
	{"bottle_240ml", "本", "bottles"},
	{"bag_5kg", "袋", "bags"},
	{"pack", "パック", "packs"},
	{"pack_1kg", "袋", "bags"},
	{"set", "セット", "sets"},
	{"tank_18l", "缶", "containers"},
};

/* ---- state ---- */

struct need {
	char item[40]; /* catalogue code */
	char qty[24];  /* as typed, canonical once checked; "" not yet */
	size_t urgency;
};

/* The answers: exactly what a draft keeps. */
struct answers {
	char *value[NFIELDS]; /* text as `report` takes it; NULL: unknown */
	struct need *needs;
	size_t nneeds, cap;
	size_t step; /* the question to ask next; NFIELDS: the summary */
};

struct form {
	const struct agent_config *cfg;
	FILE *in, *out;
	int en, echo;
	schema_set *schemas;
	catalog *items;
	struct report_rules rules;
	outbox *ob;
	char *draft;
	struct answers a;
	int dirty;   /* there is something a stop must keep */
	long asking; /* need being asked, for reasons; -1: none */
	const struct catalog_item *shortlist[16];
	size_t nshort;
	char line[LINE_BYTES];
};

/* What the steps return besides 0 and negative SL_E* codes. */
enum {
	STOPPED = FORM_STOPPED, /* Ctrl-C, hang-up or end of input */
	TOO_LONG = 10,		/* ask(): the line was refused */
	REMOVED,		/* ask_need(): the need was taken off */
	REFUSED,		/* save(): the rules refused the report */
	KEPT,			/* start(): stopped, the draft untouched */
};

/* ---- signals: a stop interrupts the waiting read ---- */

static volatile sig_atomic_t stop_flag;
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSTOP (sizeof(stop_signals) / sizeof(stop_signals[0]))

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* ---- messages ---- */

static const char *tr(const struct form *f, enum msg_id id)
{
	return f->en ? texts[id].en : texts[id].ja;
}

/* The formats come from the table above, whose languages
 * messages_agree() holds to the same arguments. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static void say(const struct form *f, enum msg_id id, ...)
{
	va_list ap;
	va_start(ap, id);
	vfprintf(f->out, tr(f, id), ap);
	va_end(ap);
}

static void format(const struct form *f, char *buf, size_t n, enum msg_id id,
		   ...)
{
	va_list ap;
	va_start(ap, id);
	vsnprintf(buf, n, tr(f, id), ap);
	va_end(ap);
}
#pragma GCC diagnostic pop

/* The conversions of a printf format, e.g. "s lld" -> "slld". */
static void conversions(const char *fmt, char *out, size_t n)
{
	size_t k = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		if (*++p == '%')
			continue;
		while (*p && strchr("-+ #0123456789.hlzjt", *p) && k + 1 < n)
			out[k++] = *p++;
		if (*p && k + 1 < n)
			out[k++] = *p;
		if (*p == '\0')
			break;
	}
	out[k] = '\0';
}

/* 1 if every row's two languages take the same printf arguments. */
static int messages_agree(void)
{
	char a[32], b[32];
	for (size_t i = 0; i < M_COUNT; i++) {
		if (texts[i].ja == NULL || texts[i].en == NULL)
			return 0;
		conversions(texts[i].ja, a, sizeof(a));
		conversions(texts[i].en, b, sizeof(b));
		if (strcmp(a, b) != 0)
			return 0;
	}
	return 1;
}

/* ---- catalogue words ---- */

static const char *item_name(const struct form *f, const char *code)
{
	const struct catalog_item *it = catalog_find(f->items, code);
	if (it == NULL)
		return code;
	return f->en ? it->name_en : it->name_ja;
}

static const char *unit_name(const struct form *f, const char *code)
{
	const struct catalog_item *it = catalog_find(f->items, code);
	if (it == NULL)
		return "";
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(units[i].code, it->unit) == 0)
			return f->en ? units[i].en : units[i].ja;
	return it->unit;
}

/* The short list offered by number: drinking water first, then the
 * national "basic eight" push-support items, each in code order. */
static void make_shortlist(struct form *f)
{
	const size_t max = sizeof(f->shortlist) / sizeof(f->shortlist[0]);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < catalog_count(f->items); i++) {
			const struct catalog_item *it = catalog_at(f->items, i);
			int water = strcmp(it->category, "water") == 0;
			if ((pass == 0 ? water : it->push_basic8 && !water) &&
			    f->nshort < max)
				f->shortlist[f->nshort++] = it;
		}
}

/* ---- answers ---- */

static void answers_free(struct answers *a)
{
	for (size_t i = 0; i < NFIELDS; i++)
		free(a->value[i]);
	free(a->needs);
	memset(a, 0, sizeof(*a));
}

static struct need *add_need(struct answers *a, const char *item,
			     const char *qty, size_t urgency)
{
	if (strlen(item) >= sizeof(a->needs->item) ||
	    strlen(qty) >= sizeof(a->needs->qty))
		return NULL;
	if (a->nneeds == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 8;
		struct need *n = realloc(a->needs, cap * sizeof(*n));
		if (n == NULL)
			return NULL;
		a->needs = n;
		a->cap = cap;
	}
	struct need *n = &a->needs[a->nneeds++];
	snprintf(n->item, sizeof(n->item), "%s", item);
	snprintf(n->qty, sizeof(n->qty), "%s", qty);
	n->urgency = urgency;
	return n;
}

static void remove_need(struct answers *a, size_t k)
{
	memmove(&a->needs[k], &a->needs[k + 1],
		(a->nneeds - k - 1) * sizeof(a->needs[0]));
	a->nneeds--;
}

static long find_need(const struct answers *a, const char *item)
{
	for (size_t k = 0; k < a->nneeds; k++)
		if (strcmp(a->needs[k].item, item) == 0)
			return (long)k;
	return -1;
}

static size_t urgency_index(const char *code)
{
	for (size_t u = 0; u < NURGENCIES; u++)
		if (code && strcmp(urgencies[u].code, code) == 0)
			return u;
	return NURGENCIES;
}

/* Replaces value[i] (taking ownership of `v`, which may be NULL). */
static void set_value(struct answers *a, size_t i, char *v)
{
	free(a->value[i]);
	a->value[i] = v;
}

static const json_t *field_in(const json_t *msg, const struct field *fd)
{
	const json_t *o = fd->obj ? json_object_get(msg, fd->obj) : msg;
	return json_object_get(o, fd->key);
}

/* Text as `report` takes it for a value of the status report. */
static char *value_text(const json_t *v)
{
	char buf[32];
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return strdup(buf);
	}
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "yes" : "no");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return NULL;
}

/* The previous report's values as the answers' defaults. */
static int answers_from_report(struct answers *a, const json_t *msg)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		const json_t *v = field_in(msg, &fields[i]);
		if (fields[i].kind == K_NEEDS) {
			size_t k;
			json_t *n;
			json_array_foreach (v, k, n) {
				char qty[24];
				snprintf(qty, sizeof(qty),
					 "%" JSON_INTEGER_FORMAT,
					 json_integer_value(
						 json_object_get(n, "qty")));
				const char *item = json_string_value(
					json_object_get(n, "item"));
				size_t u = urgency_index(json_string_value(
					json_object_get(n, "urgency")));
				if (item == NULL || u == NURGENCIES)
					continue;
				if (add_need(a, item, qty, u) == NULL)
					return SL_ENOMEM;
			}
		} else if (v != NULL) {
			if ((a->value[i] = value_text(v)) == NULL)
				return SL_ENOMEM;
		}
	}
	return 0;
}

/* ---- checking through `report`'s own code ---- */

/*
 * Builds the report from the answers to fields[0..upto], through the
 * same report_from_args() as `shelter-agent report`.  NULL with err set
 * when an answer is refused.
 */
static json_t *build(struct form *f, size_t upto, int with_position,
		     sl_error *err)
{
	char opt[NFIELDS][16], report[] = "report", need[] = "--need";
	char no_position[] = "--no-position";
	size_t max = 2 + 2 * (NFIELDS + f->a.nneeds);
	char **argv = calloc(max + 1, sizeof(*argv));
	char(*spec)[80] = calloc(f->a.nneeds + 1, sizeof(*spec));
	json_t *msg = NULL;
	int argc = 0;

	if (argv == NULL || spec == NULL) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		goto out;
	}
	argv[argc++] = report;
	if (!with_position) /* checking an answer must not wait for gpsd */
		argv[argc++] = no_position;
	for (size_t i = 0; i <= upto && i < NFIELDS; i++) {
		if (fields[i].kind == K_NEEDS) {
			for (size_t k = 0; k < f->a.nneeds; k++) {
				const struct need *n = &f->a.needs[k];
				if (n->qty[0] == '\0')
					continue;
				snprintf(spec[k], sizeof(spec[k]), "%s=%s:%s",
					 n->item, n->qty,
					 urgencies[n->urgency].code);
				argv[argc++] = need;
				argv[argc++] = spec[k];
			}
		} else if (f->a.value[i] != NULL) {
			snprintf(opt[i], sizeof(opt[i]), "--%s",
				 fields[i].flag);
			argv[argc++] = opt[i];
			argv[argc++] = f->a.value[i];
		}
	}
	msg = report_from_args(f->cfg, argc, argv, err);
out:
	free(argv);
	free(spec);
	return msg;
}

/* The report so far, checked as outbox_add() will check it (with a
 * stand-in sequence number); NULL with err set when refused. */
static json_t *check(struct form *f, size_t upto, sl_error *err)
{
	json_t *msg = build(f, upto, 0, err);
	if (msg == NULL)
		return NULL;
	if (json_object_set_new(msg, "seq", json_integer(1)) != 0) {
		sl_error_set(err, SL_ENOMEM, "out of memory");
		json_decref(msg);
		return NULL;
	}
	if (report_check(msg, &f->rules, err) != 0) {
		json_decref(msg);
		return NULL;
	}
	return msg;
}

/* ---- reasons in plain words ---- */

static const char *field_label(const struct form *f, long i, long need)
{
	if (i < 0)
		return "";
	if (fields[i].kind == K_NEEDS && need >= 0 &&
	    (size_t)need < f->a.nneeds)
		return item_name(f, f->a.needs[need].item);
	return tr(f, fields[i].label);
}

static long field_by_flag(const char *flag, size_t len)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strlen(fields[i].flag) == len &&
		    strncmp(fields[i].flag, flag, len) == 0)
			return (long)i;
	return -1;
}

/* The field a JSON Pointer of the status report is in; *need is the
 * index for "/needs/N/...". */
static long field_by_pointer(const char *p, size_t len, long *need)
{
	char path[64];
	*need = -1;
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *fd = &fields[i];
		int n = fd->obj ? snprintf(path, sizeof(path), "/%s/%s",
					   fd->obj, fd->key)
				: snprintf(path, sizeof(path), "/%s", fd->key);
		if ((size_t)n > len || strncmp(p, path, (size_t)n) != 0 ||
		    ((size_t)n < len && p[n] != '/'))
			continue;
		if (fd->kind == K_NEEDS && (size_t)n < len) {
			char *end;
			long k = strtol(p + n + 1, &end, 10);
			if (end > p + n + 1 && k >= 0)
				*need = k;
		}
		return (long)i;
	}
	return -1;
}

/*
 * Says why an answer was refused, from the text report_from_args(),
 * report_check() or outbox_add() gave: "--flag: ..." (syntax), "token:
 * /pointer: ..." (rules.c) or "/pointer: keyword: message" (schema).
 * Returns the field the reason is about, or -1.
 */
static long explain(struct form *f, const char *text)
{
	const char *p = text, *colon;
	long field = -1, need = f->asking;
	char token[32] = "";

	if (strncmp(text, "too_large:", 10) == 0) {
		say(f, M_ERR_TOO_LARGE);
		return -1;
	}
	if (strncmp(text, "--", 2) == 0) {
		field = field_by_flag(text + 2, strcspn(text + 2, ": "));
		const char *label = field_label(f, field, need);
		if (field < 0)
			say(f, M_ERR_OTHER, text);
		else if (strstr(text, "is not a whole number"))
			say(f, M_ERR_NUMBER, label);
		else if (strstr(text, "not valid UTF-8"))
			say(f, M_ERR_UTF8, label);
		else if (strstr(text, "is required"))
			say(f, M_ERR_REQUIRED, label);
		else
			say(f, M_ERR_OTHER, text);
		return field;
	}
	if (*p != '/') { /* rules.c: "token: /pointer: detail" */
		size_t n = strcspn(p, ":");
		if (n >= sizeof(token) || strncmp(p + n, ": /", 3) != 0) {
			say(f, M_ERR_OTHER, text);
			return -1;
		}
		memcpy(token, p, n);
		token[n] = '\0';
		p += n + 2;
	}
	if ((colon = strstr(p, ": ")) == NULL) {
		say(f, M_ERR_OTHER, text);
		return -1;
	}
	field = field_by_pointer(p, (size_t)(colon - p), &need);
	const char *label = field_label(f, field, need), *detail = colon + 2;
	long long a, b;
	if (field < 0) {
		say(f, M_ERR_OTHER, text);
	} else if (strcmp(token, "inconsistent") == 0 &&
		   sscanf(detail, "%lld is more than the total %lld", &a, &b) ==
			   2) {
		say(f, M_ERR_GROUP, label, a, b);
	} else if (strcmp(token, "unknown_item") == 0) {
		say(f, M_ERR_UNKNOWN_ITEM, label);
	} else if (strcmp(token, "duplicate_item") == 0) {
		say(f, M_ERR_DUP_ITEM, label);
	} else if (token[0] == '\0') { /* schema: "keyword: message" */
		size_t kw = strcspn(detail, ":");
		const char *bound = strrchr(detail, ' ');
		bound = bound ? bound + 1 : "";
		if (strncmp(detail, "minimum:", kw + 1) == 0)
			say(f, M_ERR_MIN, label, bound);
		else if (strncmp(detail, "maximum:", kw + 1) == 0)
			say(f, M_ERR_MAX, label, bound);
		else if (strncmp(detail, "maxLength:", kw + 1) == 0)
			say(f, M_ERR_LONG, label, bound);
		else if (strncmp(detail, "maxItems:", kw + 1) == 0)
			say(f, M_ERR_MANY, label, bound);
		else
			say(f, M_ERR_OTHER, text);
	} else {
		say(f, M_ERR_OTHER, text);
	}
	return field;
}

/* ---- reading answers ---- */

/* Full-width ASCII (as a Japanese input method types it) and the
 * ideographic space become ASCII; ASCII letters become lower case. */
static void normalize(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = r;
	while (*r) {
		if (r[0] == 0xEF && (r[1] == 0xBC || r[1] == 0xBD) && r[2]) {
			unsigned cp = ((r[0] & 0x0Fu) << 12) |
				      ((r[1] & 0x3Fu) << 6) | (r[2] & 0x3Fu);
			if (cp >= 0xFF01 && cp <= 0xFF5E) {
				*w++ = (unsigned char)(cp - 0xFEE0);
				r += 3;
				continue;
			}
		}
		if (r[0] == 0xE3 && r[1] == 0x80 && r[2] == 0x80) {
			*w++ = ' ';
			r += 3;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	for (unsigned char *c = (unsigned char *)s; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (unsigned char)(*c - 'A' + 'a');
}

/* Strips blanks, including the ideographic space, from both ends. */
static void trim(char *s)
{
	size_t n = strlen(s), start = 0;
	for (;;) {
		if (n > start && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		else if (n >= start + 3 &&
			 memcmp(s + n - 3, "\xE3\x80\x80", 3) == 0)
			n -= 3;
		else
			break;
	}
	for (;;) {
		if (start < n && (s[start] == ' ' || s[start] == '\t'))
			start++;
		else if (start + 3 <= n &&
			 memcmp(s + start, "\xE3\x80\x80", 3) == 0)
			start += 3;
		else
			break;
	}
	memmove(s, s + start, n - start);
	s[n - start] = '\0';
}

/* Shows the prompt "(i/N) question [default] > " and reads one line
 * into f->line, blanks trimmed.  Returns 0, STOPPED, or TOO_LONG for a
 * line that did not fit (refused whole, staff told). */
static int ask(struct form *f, size_t i, const char *question, const char *def)
{
	if (i < NFIELDS)
		fprintf(f->out, "(%zu/%zu) ", i + 1, NFIELDS);
	fputs(question, f->out);
	if (def != NULL)
		fprintf(f->out, " [%s]", def);
	fputs(" > ", f->out);
	fflush(f->out);
	if (stop_flag || fgets(f->line, sizeof(f->line), f->in) == NULL ||
	    stop_flag)
		return STOPPED;
	size_t n = strlen(f->line);
	if (n > 0 && f->line[n - 1] == '\n') {
		f->line[--n] = '\0';
	} else if (!feof(f->in)) {
		int c;
		while ((c = getc(f->in)) != EOF && c != '\n')
			;
		if (f->echo)
			fputs("...\n", f->out);
		say(f, M_ERR_LINE);
		return TOO_LONG;
	}
	if (n > 0 && f->line[n - 1] == '\r')
		f->line[--n] = '\0';
	if (f->echo)
		fprintf(f->out, "%s\n", f->line);
	trim(f->line);
	return 0;
}

/* 1 yes, 0 no, -1 neither; s normalized. */
static int yesno(const char *s)
{
	if (!strcmp(s, "y") || !strcmp(s, "yes") || !strcmp(s, "はい"))
		return 1;
	if (!strcmp(s, "n") || !strcmp(s, "no") || !strcmp(s, "いいえ"))
		return 0;
	return -1;
}

/* The value of field i as shown to staff, in buf. */
static const char *shown(const struct form *f, size_t i, char *buf, size_t n,
			 int full)
{
	const char *v = f->a.value[i];
	if (v == NULL)
		return tr(f, fields[i].kind == K_TEXT ? M_NONE : M_UNKNOWN);
	if (fields[i].kind == K_YESNO)
		return tr(f, strcmp(v, "yes") == 0 ? M_YES : M_NO);
	size_t len = strlen(v), chars = 0, cut = len;
	for (size_t k = 0; k < len && !full; k++)
		if (((unsigned char)v[k] & 0xC0) != 0x80 && chars++ == 24) {
			cut = k;
			break;
		}
	snprintf(buf, n, "%.*s%s", (int)cut, v, cut < len ? "…" : "");
	return buf;
}

/* Asks field i until its answer is accepted; the report checked covers
 * fields[0..upto]. */
static int ask_value(struct form *f, size_t i, size_t upto)
{
	const struct field *fd = &fields[i];
	char def[160];
	sl_error err;

	for (;;) {
		const char *d = f->a.value[i] || !fd->required
					? shown(f, i, def, sizeof(def), 0)
					: NULL;
		int rc = ask(f, i, tr(f, fd->question), d);
		if (rc == STOPPED)
			return rc;
		if (rc == TOO_LONG)
			continue;
		if (fd->kind != K_TEXT)
			normalize(f->line);
		const char *text; /* the answer to try; NULL: unknown */
		if (f->line[0] == '\0') {
			if (f->a.value[i] == NULL && fd->required) {
				say(f, M_ERR_REQUIRED, tr(f, fd->label));
				continue;
			}
			text = f->a.value[i];
		} else if (!fd->required && (strcmp(f->line, "-") == 0 ||
					     strcmp(f->line, "－") == 0)) {
			text = NULL;
		} else if (fd->kind == K_YESNO) {
			int yes = yesno(f->line);
			if (yes < 0) {
				say(f, M_ERR_YESNO);
				continue;
			}
			text = yes ? "yes" : "no";
		} else {
			text = f->line;
		}
		char *v = text ? strdup(text) : NULL;
		if (text && v == NULL)
			return SL_ENOMEM;
		char *old = f->a.value[i];
		f->a.value[i] = v;
		json_t *msg = check(f, upto, &err);
		if (msg == NULL) {
			f->a.value[i] = old;
			free(v);
			explain(f, err.text);
			continue;
		}
		free(old);
		if (fd->kind == K_COUNT && v != NULL) {
			char *canon = value_text(field_in(msg, fd));
			if (canon)
				set_value(&f->a, i, canon);
		}
		json_decref(msg);
		return 0;
	}
}

/* 1 if s is one or more '0's. */
static int all_zeros(const char *s)
{
	return *s != '\0' && strspn(s, "0") == strlen(s);
}

/* Asks quantity and urgency of need k (fresh: just added, no default).
 * Returns 0, REMOVED, STOPPED or an SL_E* code. */
static int ask_need(struct form *f, size_t i, size_t upto, size_t k, int fresh)
{
	char q[512], def[32];
	sl_error err;

	for (;;) {
		struct need *n = &f->a.needs[k];
		format(f, q, sizeof(q), fresh ? M_NEED_QTY_NEW : M_NEED_QTY,
		       item_name(f, n->item), unit_name(f, n->item));
		int rc = ask(f, i, q, fresh ? NULL : n->qty);
		if (rc == STOPPED) {
			if (fresh)
				remove_need(&f->a, k);
			return rc;
		}
		if (rc == TOO_LONG)
			continue;
		normalize(f->line);
		if (f->line[0] == '\0' && fresh) {
			say(f, M_ERR_NUMBER, item_name(f, n->item));
			continue;
		}
		if (all_zeros(f->line)) {
			say(f, M_NEED_REMOVED, item_name(f, n->item));
			remove_need(&f->a, k);
			return REMOVED;
		}
		if (strlen(f->line) >= sizeof(n->qty) ||
		    strpbrk(f->line, ":=")) {
			say(f, M_ERR_NUMBER, item_name(f, n->item));
			continue;
		}
		char old[sizeof(n->qty)];
		memcpy(old, n->qty, sizeof(old));
		if (f->line[0] != '\0') /* else Enter: the shown value */
			snprintf(n->qty, sizeof(n->qty), "%s", f->line);
		f->asking = (long)k; /* names the item in a reason */
		json_t *msg = check(f, upto, &err);
		if (msg == NULL)
			explain(f, err.text);
		f->asking = -1;
		if (msg == NULL) {
			memcpy(n->qty, old, sizeof(old));
			continue;
		}
		json_t *line;
		size_t j;
		json_array_foreach (json_object_get(msg, "needs"), j, line)
			if (strcmp(json_string_value(
					   json_object_get(line, "item")),
				   n->item) == 0)
				snprintf(n->qty, sizeof(n->qty),
					 "%" JSON_INTEGER_FORMAT,
					 json_integer_value(
						 json_object_get(line, "qty")));
		json_decref(msg);
		break;
	}
	for (;;) {
		struct need *n = &f->a.needs[k];
		snprintf(def, sizeof(def), "%s",
			 tr(f, urgencies[n->urgency].label));
		int rc = ask(f, i, tr(f, M_NEED_URGENCY), def);
		if (rc == STOPPED)
			return rc;
		if (rc == TOO_LONG)
			continue;
		normalize(f->line);
		if (f->line[0] == '\0')
			return 0;
		size_t u;
		for (u = 0; u < NURGENCIES; u++) {
			char digit[2] = {(char)('1' + u), '\0'};
			if (!strcmp(f->line, digit) ||
			    !strcmp(f->line, urgencies[u].code) ||
			    !strcmp(f->line, texts[urgencies[u].label].ja) ||
			    !strcmp(f->line, texts[urgencies[u].label].en))
				break;
		}
		if (u == NURGENCIES) {
			say(f, M_ERR_URGENCY);
			continue;
		}
		n->urgency = u;
		return 0;
	}
}

/* The supplies step: each listed need again (Enter keeps it, 0 takes it
 * off), then new ones by number from the short list or by item code. */
static int ask_needs(struct form *f, size_t i, size_t upto)
{
	int rc;
	say(f, fields[i].question);
	for (size_t k = 0; k < f->a.nneeds;) {
		rc = ask_need(f, i, upto, k, 0);
		if (rc == REMOVED)
			continue;
		if (rc != 0)
			return rc;
		k++;
	}
	fputs(tr(f, M_NEED_LIST), f->out);
	for (size_t s = 0; s < f->nshort; s++)
		fprintf(f->out, "   %2zu  %s\n", s + 1,
			f->en ? f->shortlist[s]->name_en
			      : f->shortlist[s]->name_ja);
	for (;;) {
		rc = ask(f, i, tr(f, M_NEED_ADD), NULL);
		if (rc == STOPPED)
			return rc;
		if (rc == TOO_LONG)
			continue;
		normalize(f->line);
		if (f->line[0] == '\0')
			return 0;
		const struct catalog_item *it = catalog_find(f->items, f->line);
		char *end;
		long s = strtol(f->line, &end, 10);
		if (it == NULL && *end == '\0' && s >= 1 &&
		    (size_t)s <= f->nshort)
			it = f->shortlist[s - 1];
		if (it == NULL) {
			say(f, M_ERR_NO_ITEM);
			continue;
		}
		long k = find_need(&f->a, it->code);
		if (k >= 0) {
			say(f, M_ERR_IN_LIST, item_name(f, it->code));
			rc = ask_need(f, i, upto, (size_t)k, 0);
		} else {
			if (add_need(&f->a, it->code, "", URGENCY_NORMAL) ==
			    NULL)
				return SL_ENOMEM;
			rc = ask_need(f, i, upto, f->a.nneeds - 1, 1);
		}
		if (rc == STOPPED || rc < 0)
			return rc;
	}
}

static int ask_step(struct form *f, size_t i, size_t upto)
{
	if (fields[i].kind == K_NEEDS)
		return ask_needs(f, i, upto);
	return ask_value(f, i, upto);
}

/* ---- the draft ---- */

/* Makes the directory entry of `path` durable. */
static int sync_dir(const char *path, sl_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path,
				    slash == path ? 1 : (size_t)(slash - path))
			  : strdup(".");
	if (dir == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	int fd = open(dir, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
		rc = sl_error_set(err, SL_EIO, "%s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* Writes `text` to `path` so that a crash leaves the old file or the
 * new one, never a part: a temporary file, fsync, rename. */
static int write_durably(const char *path, const char *text, sl_error *err)
{
	size_t len = strlen(text), done = 0;
	char *tmp = malloc(strlen(path) + 5);
	if (tmp == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	sprintf(tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;
	if (fd < 0) {
		rc = sl_error_set(err, SL_EIO, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = sl_error_set(err, SL_EIO, "%s: %s", tmp,
					  strerror(errno));
			break;
		}
		done += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = sl_error_set(err, SL_EIO, "%s: %s", tmp, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = sl_error_set(err, SL_EIO, "%s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = sl_error_set(err, SL_EIO, "%s: %s", path, strerror(errno));
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc == 0 ? sync_dir(path, err) : rc;
}

static int save_draft(struct form *f, sl_error *err)
{
	char now[32];
	json_t *values = json_object(), *needs = json_array();
	int rc = 0;

	msg_time(time(NULL), now);
	json_t *doc = json_pack("{s:i, s:I, s:s, s:o, s:o}", "v", 1, "step",
				(json_int_t)f->a.step, "saved_at", now,
				"values", values, "needs", needs);
	if (doc == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	for (size_t i = 0; i < NFIELDS && rc == 0; i++)
		if (f->a.value[i] &&
		    json_object_set_new(values, fields[i].flag,
					json_string(f->a.value[i])) != 0)
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	for (size_t k = 0; k < f->a.nneeds && rc == 0; k++) {
		const struct need *n = &f->a.needs[k];
		if (n->qty[0] != '\0' &&
		    json_array_append_new(
			    needs, json_pack("{s:s, s:s, s:s}", "item", n->item,
					     "qty", n->qty, "urgency",
					     urgencies[n->urgency].code)) != 0)
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	}
	char *text = rc == 0 ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (rc == 0 && text == NULL)
		rc = sl_error_set(err, SL_ENOMEM, "out of memory");
	if (rc == 0)
		rc = write_durably(f->draft, text, err);
	free(text);
	json_decref(doc);
	return rc;
}

static int remove_draft(const struct form *f, sl_error *err)
{
	if (unlink(f->draft) != 0)
		return errno == ENOENT
			       ? 0
			       : sl_error_set(err, SL_EIO, "%s: %s", f->draft,
					      strerror(errno));
	return sync_dir(f->draft, err);
}

/*
 * Reads the draft into `a` (steps, values and needs capped and typed;
 * their rules are checked again at the summary).  Returns 0 with
 * *found 0 when there is none, SL_EINVAL with err saying why it is
 * unusable, or SL_ENOMEM.
 */
static int load_draft(const struct form *f, struct answers *a,
		      char saved_at[32], int *found, sl_error *err)
{
	struct stat st;
	json_error_t jerr;
	const char *key;
	json_t *v, *n;
	size_t k;

	*found = 0;
	if (stat(f->draft, &st) != 0)
		return errno == ENOENT ? 0
				       : sl_error_set(err, SL_EINVAL, "%s",
						      strerror(errno));
	*found = 1;
	if (st.st_size > DRAFT_MAX_BYTES)
		return sl_error_set(err, SL_EINVAL, "too large");
	json_t *doc = json_load_file(f->draft, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return sl_error_set(err, SL_EINVAL, "%d:%d: %s", jerr.line,
				    jerr.column, jerr.text);
	int rc = sl_error_set(err, SL_EINVAL, "not a form draft");
	json_t *step = json_object_get(doc, "step"),
	       *values = json_object_get(doc, "values"),
	       *needs = json_object_get(doc, "needs");
	const char *at = json_string_value(json_object_get(doc, "saved_at"));
	if (json_integer_value(json_object_get(doc, "v")) != 1 ||
	    !json_is_integer(step) || json_integer_value(step) < 0 ||
	    json_integer_value(step) > (json_int_t)NFIELDS ||
	    !json_is_object(values) || !json_is_array(needs) ||
	    json_array_size(needs) > DRAFT_MAX_NEEDS || at == NULL)
		goto out;
	a->step = (size_t)json_integer_value(step);
	snprintf(saved_at, 32, "%.16s", at);
	if (strlen(saved_at) > 10 && saved_at[10] == 'T')
		saved_at[10] = ' ';
	json_object_foreach (values, key, v) {
		long i = field_by_flag(key, strlen(key));
		if (i < 0 || fields[i].kind == K_NEEDS || !json_is_string(v) ||
		    json_string_length(v) >= LINE_BYTES)
			goto out;
		if ((a->value[i] = strdup(json_string_value(v))) == NULL) {
			rc = sl_error_set(err, SL_ENOMEM, "out of memory");
			goto out;
		}
	}
	json_array_foreach (needs, k, n) {
		const char *item =
			json_string_value(json_object_get(n, "item"));
		const char *qty = json_string_value(json_object_get(n, "qty"));
		size_t u = urgency_index(
			json_string_value(json_object_get(n, "urgency")));
		if (item == NULL || qty == NULL || *qty == '\0' ||
		    u == NURGENCIES || add_need(a, item, qty, u) == NULL)
			goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	if (rc != 0)
		answers_free(a);
	return rc;
}

/* ---- the summary ---- */

static void summary(const struct form *f)
{
	char buf[LINE_BYTES + 8], line[512];
	say(f, M_SUMMARY);
	for (size_t i = 0; i < NFIELDS; i++) {
		fprintf(f->out, " %2zu. %s: ", i + 1, tr(f, fields[i].label));
		if (fields[i].kind != K_NEEDS) {
			fprintf(f->out, "%s\n",
				shown(f, i, buf, sizeof(buf), 1));
			continue;
		}
		if (f->a.nneeds == 0)
			fprintf(f->out, "%s\n", tr(f, M_NONE));
		for (size_t k = 0; k < f->a.nneeds; k++) {
			const struct need *n = &f->a.needs[k];
			format(f, line, sizeof(line), M_NEED_LINE,
			       item_name(f, n->item), n->qty,
			       unit_name(f, n->item),
			       tr(f, urgencies[n->urgency].label));
			fprintf(f->out, "%s%s\n", k ? "       " : "", line);
		}
	}
}

/* Stores the report: 0 with *seq set; REFUSED when the rules refuse it
 * (staff told why); an SL_E* code when it could not be stored. */
static int save(struct form *f, long long *seq, sl_error *err)
{
	sl_error why;
	json_t *msg = build(f, NFIELDS - 1, 1, &why);
	int rc =
		msg ? outbox_add(f->ob, msg, report_check, &f->rules, seq, &why)
		    : SL_EINVAL;
	json_decref(msg);
	if (rc == SL_EINVAL || rc == SL_ESCHEMA) {
		fputs(tr(f, M_CANNOT_SAVE), f->out);
		explain(f, why.text);
		return REFUSED;
	}
	if (rc != 0) {
		say(f, M_SAVE_FAILED, why.text);
		sl_error_set(err, rc, "%s", why.text);
		return rc;
	}
	if (remove_draft(f, &why) != 0)
		say(f, M_DRAFT_NOT_REMOVED, why.text);
	say(f, M_SAVED, *seq);
	return 0;
}

/* The summary until staff save (0), decline (FORM_NOT_SAVED) or stop. */
static int confirm(struct form *f, long long *seq, sl_error *err)
{
	sl_error why;
	for (;;) {
		json_t *msg = check(f, NFIELDS - 1, &why);
		if (msg == NULL) {
			fputs(tr(f, M_CANNOT_SAVE), f->out);
			long i = explain(f, why.text);
			if (i >= 0) {
				int rc = ask_step(f, (size_t)i, NFIELDS - 1);
				if (rc != 0)
					return rc;
				continue;
			}
		}
		json_decref(msg);
		summary(f);
		int rc = ask(f, NFIELDS, tr(f, M_CONFIRM), NULL);
		if (rc == STOPPED)
			return rc;
		if (rc == TOO_LONG)
			continue;
		normalize(f->line);
		int yes = yesno(f->line);
		char *end;
		long i = strtol(f->line, &end, 10);
		if (yes == 1) {
			if ((rc = save(f, seq, err)) != REFUSED)
				return rc;
		} else if (yes == 0) {
			return FORM_NOT_SAVED;
		} else if (f->line[0] && *end == '\0' && i >= 1 &&
			   (size_t)i <= NFIELDS) {
			if ((rc = ask_step(f, (size_t)i - 1, NFIELDS - 1)) != 0)
				return rc;
		} else {
			say(f, M_ERR_CHOICE);
		}
	}
}

/* ---- the run ---- */

static int open_all(struct form *f, sl_error *err)
{
	const struct conf_common *c = &f->cfg->common;
	if ((f->schemas = schema_set_new()) == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	int rc;
	if ((rc = schema_set_load_dir(f->schemas, c->schemas, err)) != 0 ||
	    (rc = schema_set_resolve(f->schemas, err)) != 0)
		return rc;
	if ((f->items = catalog_load(c->items, f->schemas, err)) == NULL)
		return SL_EINVAL;
	f->rules = (struct report_rules){f->schemas, f->items};
	if ((f->ob = outbox_open(c->database, err)) == NULL)
		return SL_EDB;
	if ((f->draft = malloc(strlen(c->database) + 20)) == NULL)
		return sl_error_set(err, SL_ENOMEM, "out of memory");
	sprintf(f->draft, "%s.form-draft.json", c->database);
	make_shortlist(f);
	return 0;
}

/* The draft if staff want it, else the previous report's values.
 * Returns 0, KEPT (stopped at the question) or an SL_E* code. */
static int start(struct form *f, sl_error *err)
{
	struct answers d = {0};
	char saved_at[32];
	sl_error why;
	int found, rc = load_draft(f, &d, saved_at, &found, &why);

	if (rc == SL_ENOMEM)
		return sl_error_set(err, rc, "out of memory");
	if (rc != 0)
		say(f, M_DRAFT_BAD, why.text);
	while (rc == 0 && found) {
		char q[512];
		format(f, q, sizeof(q), M_RESUME, saved_at);
		int r = ask(f, NFIELDS, q, "y");
		if (r == STOPPED) {
			answers_free(&d);
			return KEPT;
		}
		if (r == TOO_LONG)
			continue;
		normalize(f->line);
		int yes = f->line[0] ? yesno(f->line) : 1;
		if (yes < 0) {
			say(f, M_ERR_YESNO);
			continue;
		}
		if (yes) {
			f->a = d;
			f->dirty = 1;
			return 0;
		}
		break;
	}
	answers_free(&d);
	json_t *last;
	if ((rc = outbox_last(f->ob, "status", &last, err)) != 0)
		return rc;
	rc = last ? answers_from_report(&f->a, last) : 0;
	json_decref(last);
	return rc ? sl_error_set(err, rc, "out of memory") : 0;
}

/*
 * Ends a run whose steps returned rc: unless the report was saved or
 * nothing was entered, the answers go to the draft, and staff are told
 * either way.  Returns form_run()'s result.
 */
static int finish(struct form *f, int rc, sl_error *err)
{
	sl_error why;
	int kept;

	if (rc == FORM_SAVED)
		return rc;
	if (rc == KEPT) {
		say(f, M_STOPPED_KEPT);
		return FORM_STOPPED;
	}
	if (rc == SL_ENOMEM)
		sl_error_set(err, rc, "out of memory");
	if (rc == STOPPED && !f->dirty) {
		say(f, M_STOPPED_NOTHING);
		return FORM_STOPPED;
	}
	if (rc < 0 && !f->dirty)
		return rc;
	if ((kept = save_draft(f, &why)) != 0) {
		say(f, M_DRAFT_FAILED, why.text);
		if (rc >= 0)
			sl_error_set(err, kept, "draft %s: %s", f->draft,
				     why.text);
		return rc < 0 ? rc : kept;
	}
	if (rc == FORM_NOT_SAVED)
		say(f, M_NOT_SAVED);
	else if (rc == STOPPED)
		say(f, M_STOPPED_DRAFT, f->draft);
	else
		say(f, M_DRAFT_KEPT, f->draft);
	return rc;
}

int form_run(const struct agent_config *cfg, FILE *in, FILE *out,
	     const char *lang, long long *seq, sl_error *err)
{
	struct form f = {.cfg = cfg, .in = in, .out = out, .asking = -1};
	struct sigaction sa = {.sa_handler = on_stop}, old[NSTOP];
	struct termios tio_saved;
	int fd = fileno(in), tio_restore = 0, rc;

	*seq = 0;
	if (!messages_agree())
		return sl_error_set(err, SL_EINVAL,
				    "form: the message table's languages "
				    "take different arguments");
	if (lang == NULL || strcmp(lang, "ja") == 0)
		f.en = 0;
	else if (strcmp(lang, "en") == 0)
		f.en = 1;
	else
		return sl_error_set(err, SL_EINVAL,
				    "language '%s' is not ja or en", lang);
	f.echo = fd < 0 || !isatty(fd);
	if ((rc = open_all(&f, err)) != 0)
		goto out;

	/* A stop interrupts the read (no SA_RESTART) instead of killing
	 * the process, so the answers can be kept. */
	stop_flag = 0;
	sigemptyset(&sa.sa_mask);
	for (size_t s = 0; s < NSTOP; s++)
		sigaction(stop_signals[s], &sa, &old[s]);
	/* Erase must take back a whole Japanese character, not one byte. */
	if (!f.echo && tcgetattr(fd, &tio_saved) == 0 &&
	    !(tio_saved.c_iflag & IUTF8)) {
		struct termios t = tio_saved;
		t.c_iflag |= IUTF8;
		tio_restore = tcsetattr(fd, TCSANOW, &t) == 0;
	}

	say(&f, M_INTRO);
	say(&f, M_SHELTER,
	    cfg->shelter_name ? cfg->shelter_name : cfg->shelter_id);
	rc = start(&f, err);
	while (rc == 0 && f.a.step < NFIELDS) {
		rc = ask_step(&f, f.a.step, f.a.step);
		if (rc == 0) {
			f.a.step++;
			f.dirty = 1;
		}
	}
	if (rc == 0)
		rc = confirm(&f, seq, err);
	rc = finish(&f, rc, err);
	fflush(out);

	if (tio_restore)
		tcsetattr(fd, TCSANOW, &tio_saved);
	for (size_t s = 0; s < NSTOP; s++)
		sigaction(stop_signals[s], &old[s], NULL);
out:
	answers_free(&f.a);
	free(f.draft);
	outbox_close(f.ob);
	catalog_free(f.items);
	schema_set_free(f.schemas);
	return rc;
}
