#!/bin/sh
# The namespace (with its retention) and the search attributes the dossier workflow upserts. Run before
# any worker polls: upserting an attribute the server does not know fails the workflow task. Idempotent:
# an existing namespace gets the configured retention, existing attributes are left as they are.
set -eu

ADDRESS="${TEMPORAL_ADDRESS:?}"
NAMESPACE="${TEMPORAL_NAMESPACE:?}"
RETENTION="${TEMPORAL_RETENTION:-30d}"
TEMPORAL="${TEMPORAL_CLI:-temporal}"

tries=0
until "$TEMPORAL" operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "register: Temporal at $ADDRESS never became healthy" >&2; exit 1; }
  sleep 2
done

if "$TEMPORAL" operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  "$TEMPORAL" operator namespace update --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
  echo "register: namespace $NAMESPACE exists; retention $RETENTION"
else
  "$TEMPORAL" operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
  echo "register: namespace $NAMESPACE created; retention $RETENTION"
fi

# A new namespace takes a moment to reach every frontend; attribute creation retries meanwhile.
existing=""
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if existing=$("$TEMPORAL" operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE"); then
    break
  fi
  [ "$attempt" -lt 10 ] || { echo "register: cannot list search attributes" >&2; exit 1; }
  sleep 2
done

# Name:Type, as workflows/search_attributes.py declares them (tests/test_deploy.py keeps the two equal).
for attribute in DossierStatus:Keyword AgencyCode:Keyword ProcedureCode:Keyword DueAt:Datetime Overdue:Bool; do
  name=${attribute%%:*}
  type=${attribute#*:}
  if echo "$existing" | grep -qw "$name"; then
    echo "register: search attribute $name exists"
  else
    "$TEMPORAL" operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" \
      --name "$name" --type "$type"
    echo "register: search attribute $name ($type) created"
  fi
done
echo "register: done"
