#!/bin/sh
# differential.sh - checks common/schema.c against ajv on every example
# document in schemas/examples/<schema>/{valid,invalid}/*.json.
#
# For each file, the verdict of $BUILD/tests/sl-validate (our validator)
# must equal ajv's (tests/schema/ajv-diff.mjs), and both must match the
# directory the example sits in.  Prints a TAP line per file and closes
# with "# ajv differential: N files, N agree, N disagree".  Exits 1 on any
# disagreement, any example in the wrong directory, or a tool error.
#
# Environment: BUILD, the build directory (default "build"; the binary is
# looked for as $BUILD/tests/sl-validate, then $BUILD/sl-validate).  Runs
# "npm ci" in tests/schema when its node_modules is missing.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1

BUILD=${BUILD:-build}
bin=$BUILD/tests/sl-validate
[ -x "$bin" ] || bin=$BUILD/sl-validate
if [ ! -x "$bin" ]; then
	echo "Bail out! no sl-validate in $BUILD/tests or $BUILD (run make first)"
	exit 1
fi
if ! command -v node >/dev/null 2>&1; then
	echo "Bail out! node is not installed"
	exit 1
fi
if [ ! -d "$here/node_modules" ]; then
	(cd "$here" && npm ci --silent --no-audit --no-fund) || {
		echo "Bail out! npm ci failed in tests/schema"
		exit 1
	}
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

find schemas/examples -type f -name '*.json' | LC_ALL=C sort >"$tmp/files"
if [ ! -s "$tmp/files" ]; then
	echo "Bail out! no example files under schemas/examples"
	exit 1
fi

status=0
# File names never contain spaces here: the example layout is ours.
# shellcheck disable=SC2046
"$bin" schemas $(cat "$tmp/files") >"$tmp/c" 2>"$tmp/c.err" || status=1
# shellcheck disable=SC2046
node "$here/ajv-diff.mjs" schemas $(cat "$tmp/files") >"$tmp/ajv" 2>"$tmp/ajv.err" || status=1
for t in c ajv; do
	if [ -s "$tmp/$t.err" ]; then
		sed "s/^/# $t: /" "$tmp/$t.err"
	fi
done

awk -v cfile="$tmp/c" -v afile="$tmp/ajv" -v status="$status" '
	BEGIN {
		while ((getline line < cfile) > 0) {
			split(line, f, " ")
			c[f[1]] = f[2]
			cdetail[f[1]] = substr(line, length(f[1]) + 2)
		}
		while ((getline line < afile) > 0) {
			split(line, f, " ")
			a[f[1]] = f[2]
			adetail[f[1]] = substr(line, length(f[1]) + 2)
		}
	}
	{
		file = $0
		n++
		want = file ~ /\/valid\/[^\/]*$/ ? "valid" : \
		       file ~ /\/invalid\/[^\/]*$/ ? "invalid" : "?"
		cv = (file in c) ? c[file] : "missing"
		av = (file in a) ? a[file] : "missing"
		if (cv == av && cv != "missing")
			agree++
		else
			disagree++
		if (cv == av && cv == want) {
			printf "ok %d - %s (%s)\n", n, file, cv
			next
		}
		if (cv == av && cv != "missing")
			wrongdir++
		printf "not ok %d - %s: sl-validate %s, ajv %s, directory says %s\n", \
		       n, file, (file in c) ? cdetail[file] : "missing", \
		       (file in a) ? adetail[file] : "missing", want
	}
	END {
		printf "1..%d\n", n
		if (wrongdir > 0)
			printf "# %d example(s) in the wrong directory\n", wrongdir
		printf "# ajv differential: %d files, %d agree, %d disagree\n", \
		       n, agree, disagree
		exit (disagree > 0 || wrongdir > 0 || status != 0) ? 1 : 0
	}
' "$tmp/files"
