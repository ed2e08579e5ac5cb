#!/usr/bin/env bash
# A demo working day on one terminal, from the CLI, printing on the virtual printer.
# Usage: bash Docs/demo-day.sh [KASSA_HOME]   (default: a new temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."
export KASSA_HOME="${1:-$(mktemp -d)}"
kassa=.build/debug/kassa
[ -x "$kassa" ] || swift build --product kassa >/dev/null
run() { echo "\$ kassa $*"; "$kassa" "$@"; echo; }

run user add maria --name "Maria Lind" --role manager
run user add anna --name "Anna Berg" --role cashier --user maria
run user add olle --name "Olle Ek" --role cashier --user maria
run settings set max-difference 1000 --user maria
run session open --user anna --float 50000
run sale Docs/examples/sale-1.json --user anna
run session continue --user olle
run sale Docs/examples/sale-2.json --user olle
run park new Docs/examples/sale-1.json --id bord-4 --name "Bord 4" --user olle
run park list --user olle
run park open bord-4 --user olle
run park proforma bord-4 --user olle
run park finalize bord-4 --pay card=23534 --user olle
run session cash-in --user anna --amount 10000 --reason "Växel från banken"
run session cash-out --user anna --amount 25000 --id fel-1 --reason "Blommor"
run session cash-reverse fel-1 --user anna --reason "25000 skrevs för 2500"
run session cash-out --user anna --amount 2500 --reason "Blommor"
run receipt copy 1 --user anna
run report x --user anna
run session close --user anna --counted 93350 --left 50000
run terminal show
run session list --user maria
run journal verify
run journal export --to "$KASSA_HOME/journal-export"
echo "State and previews are in $KASSA_HOME"
