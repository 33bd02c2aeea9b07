# Sourced by deploy/smoke.sh and clients/run.sh: how a run that started servers ends.
#
# report_end NAME STATUS [DETAIL]: with STATUS 0, removes $LOGS and prints "NAME PASS in Ns";
# otherwise prints the last lines of every log in $LOGS, keeps them, and prints
# "NAME FAIL in Ns at step '$STEP'". DETAIL, when given, follows either line after ": ".
# Needs STARTED_AT (the run's $SECONDS at its start), LOGS and STEP.
report_end() {
  local name=$1 status=$2 detail=${3:-}
  local took=$((SECONDS - STARTED_AT))
  if [ "$status" -eq 0 ]; then
    rm -rf "$LOGS"
    echo "$name PASS in ${took}s${detail:+: $detail}"
  else
    for log in "$LOGS"/*.log; do
      [ -s "$log" ] || continue
      echo "----- $(basename "$log") (last 60 lines) -----"
      tail -n 60 "$log"
    done
    echo "----- logs kept in $LOGS -----"
    echo "$name FAIL in ${took}s at step '$STEP'${detail:+: $detail}"
  fi
}
