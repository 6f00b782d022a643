#!/usr/bin/env bash
# End-to-end benchmarks on a real local federation (make bench):
#   - one province: cert/info/by-id on a certificate it holds;
#   - the region: cert/search at one province (fan-out to the four, via the hub);
#   - cross-province: cert/info/by-id for another province's certificate (via the hub);
#   - the engines: cert/search with crypto_engine = openssl on every node against
#     crypto_engine = fast, the same federation restarted between the two, in
#     alternating rounds (fast openssl openssl fast ...), for the fan-out search and
#     for a local-only search (docs/testing.md, "make bench").
# Each line: requests/s, p50/p99, and the CPU time per request of each server on
# the path, next to the CPU time of one request's SM2 operations (same run).
set -euo pipefail
BUILD=${1:-build}
SECONDS_PER=${BENCH_SECONDS:-5}
THREADS=${BENCH_THREADS:-4}
ENGINE_SECONDS=${BENCH_ENGINE_SECONDS:-2}   # per run of the engine comparison
ENGINE_ROUNDS=${BENCH_ENGINE_ROUNDS:-4}     # each round runs both engines
WARMUP=${BENCH_WARMUP:-0.5}
ECERT="$BUILD/ecert"; ECERTD="$BUILD/ecertd"; LOAD="$BUILD/bench/bench_load"
tmp=$(mktemp -d)
declare -A PID
stop_nodes() {
  local n
  for n in "${!PID[@]}"; do kill "${PID[$n]}" 2>/dev/null || true; done
  for n in "${!PID[@]}"; do wait "${PID[$n]}" 2>/dev/null || true; done
  PID=()
}
cleanup() { stop_nodes; rm -rf "$tmp"; }
trap cleanup EXIT
base=$((30000 + RANDOM % 20000))
"$ECERT" federation init "$tmp/fed" --base-port "$base" >/dev/null
# Every client here is one address and one app, far over the default rate
# limits (docs/limits.md); limits this high keep the limiter in the path (its
# leases are part of what a request costs) without refusing anything.
for ini in "$tmp"/fed/YRD-*/node.ini; do
  sed -i '/^\[limits\]$/a rate_per_app = 1000000000\nrate_per_ip = 1000000000' "$ini"
done
# Every node of the federation, on the engine named (crypto_engine in [node];
# "" = the default), started and ready (healthz).
start_nodes() {
  local engine=$1 n
  for n in YRD-HUB YRD-SH YRD-JS YRD-ZJ YRD-AH YRD-TRUST; do
    sed -i '/^crypto_engine *=/d' "$tmp/fed/$n/node.ini"
    if [ -n "$engine" ]; then
      sed -i "s/^\[node\]\$/[node]\ncrypto_engine = $engine/" "$tmp/fed/$n/node.ini"
    fi
    "$ECERTD" --config "$tmp/fed/$n/node.ini" 2>>"$tmp/$n.log" &
    PID[$n]=$!
  done
  # JSON and HTTPS from Node.js (present on every machine this project supports).
  node -e "
const https=require('https'),fs=require('fs');const d=require('$tmp/fed/federation.json');
const ca=fs.readFileSync('$tmp/fed/ca.pem');let left=d.nodes.length,tries=0;
function poll(n){https.get(n.url+'/healthz',{ca},r=>{r.resume();if(r.statusCode==200){if(--left==0)process.exit(0)}else setTimeout(()=>poll(n),100)}).on('error',()=>{if(++tries>400)process.exit(1);setTimeout(()=>poll(n),100)})}
d.nodes.forEach(poll);" || {
    echo "node_bench: the federation did not come up (engine '${engine:-default}'); node logs:" >&2
    for n in YRD-HUB YRD-SH YRD-JS YRD-ZJ YRD-AH YRD-TRUST; do
      echo "--- $n" >&2; tail -n 5 "$tmp/$n.log" >&2
    done
    return 1
  }
}
start_nodes ""
q() { node -e "const d=require('$tmp/fed/federation.json');console.log(($1))"; }
TRUST_URL=$(q "d.nodes.find(n=>n.id=='YRD-TRUST').url"); TRUST_PUB=$(q "d.nodes.find(n=>n.id=='YRD-TRUST').publicKey")
JS_URL=$(q "d.nodes.find(n=>n.id=='YRD-JS').url"); JS_PUB=$(q "d.nodes.find(n=>n.id=='YRD-JS').publicKey")
APP=$(q "d.apps.find(a=>a.province=='YRD-JS').appId")
# A person holding certificates in Jiangsu and elsewhere.
HOLDER=$(q "d.holders.find(h=>h.type=='111'&&h.certificates.some(c=>c.province=='YRD-JS'&&c.status=='valid')).code")
LOCAL_ID=$(q "d.holders.find(h=>h.code=='$HOLDER').certificates.find(c=>c.province=='YRD-JS'&&c.status=='valid').id")
LOCAL_TYPE=$(q "d.holders.find(h=>h.code=='$HOLDER').certificates.find(c=>c.province=='YRD-JS'&&c.status=='valid').typeCode")
REMOTE=$(q "JSON.stringify(d.holders.find(h=>h.code=='$HOLDER').certificates.find(c=>c.province!='YRD-JS'&&c.status=='valid'))")
REMOTE_ID=$(node -e "console.log(($REMOTE).id)"); REMOTE_TYPE=$(node -e "console.log(($REMOTE).typeCode)")
REMOTE_PROV=$(node -e "console.log(($REMOTE).province)")
scene_for() { q "d.scenes.find(s=>s.types.includes('$1')).itemCode"; }
E=$(printf %s "$HOLDER" | "$ECERT" sm2 encrypt --pub "$TRUST_PUB")
T=$("$ECERT" call "$TRUST_URL" trust/token/person --app "$APP" --key "@$tmp/fed/apps/$APP.json" \
     --node-pub "$TRUST_PUB" --ca "$tmp/fed/ca.pem" \
     '{"transactionId":"B1","authType":"2","name":"bench","idType":"1","idNo":"'"$E"'"}' |
     node -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>console.log(JSON.parse(s).trustedToken))")
P='"UseFor":"bench","itemName":"bench","itemOrg":"bench","operator":"bench","bizNum":"B1"'
run() { # label endpoint body pid-args...
  local label=$1 ep=$2 body=$3; shift 3
  "$LOAD" --url "$JS_URL" --ca "$tmp/fed/ca.pem" --app "$APP" --key "$tmp/fed/apps/$APP.json" \
    --node-pub "$JS_PUB" --endpoint "$ep" --body "$body" --threads "$THREADS" \
    --seconds "$SECONDS_PER" --label "$label" "$@"
}
echo "end-to-end, one client process with $THREADS threads, ${SECONDS_PER} s each (2 cores shared by clients and servers):"
run "by-id, local (JS)" cert/info/by-id \
  '{"CertificateID":"'"$LOCAL_ID"'","trustedToken":"'"$T"'","itemCode":"'"$(scene_for "$LOCAL_TYPE")"'",'"$P"'}' \
  --pid "YRD-JS=${PID[YRD-JS]}"
run "search, 4 provinces via hub" cert/search \
  '{"trustedToken":"'"$T"'","itemCode":"'"$(scene_for "$LOCAL_TYPE")"'",'"$P"'}' \
  --pid "YRD-JS=${PID[YRD-JS]}" --pid "YRD-HUB=${PID[YRD-HUB]}" --pid "YRD-SH=${PID[YRD-SH]}" \
  --pid "YRD-ZJ=${PID[YRD-ZJ]}" --pid "YRD-AH=${PID[YRD-AH]}"
run "by-id, $REMOTE_PROV via hub" cert/info/by-id \
  '{"CertificateID":"'"$REMOTE_ID"'","trustedToken":"'"$T"'","itemCode":"'"$(scene_for "$REMOTE_TYPE")"'",'"$P"'}' \
  --pid "YRD-JS=${PID[YRD-JS]}" --pid "YRD-HUB=${PID[YRD-HUB]}" --pid "$REMOTE_PROV=${PID[$REMOTE_PROV]}"

# ---- the engines: crypto_engine = openssl against fast, on every node ----------
# The same federation (same stores, same token) is restarted on the other engine
# between configurations; the order is fast openssl | openssl fast | ... so that
# a drift of the machine's load over the run weighs on both alike. The client
# (bench_load) stays on the fast engine throughout: only the servers change.
# Workloads, both cert/search for the same holder at YRD-JS:
#   fanout  an app's search: YRD-JS checks it, searches its library, asks the
#           three other provinces through the hub (one envelope each), merges;
#   local   the same search sent by a node (appId node:YRD-SH, signed with
#           YRD-SH's key): a node's question is answered from the local library
#           alone (docs/federation.md), so only YRD-JS works. This is the
#           request every other province serves during a fan-out.
JSON="$tmp/engines.jsonl"; : >"$JSON"
SEARCH='{"trustedToken":"'"$T"'","itemCode":"'"$(scene_for "$LOCAL_TYPE")"'",'"$P"'}'
LOCAL_SEARCH='{"trustedToken":"'"$T"'","itemCode":"'"$(scene_for "$LOCAL_TYPE")"'",'"$P"',"requesterApp":"'"$APP"'","requesterNode":"YRD-SH"}'
engine_runs() { # engine round
  local engine=$1 round=$2
  ECERT_SM2_ENGINE=fast "$LOAD" --url "$JS_URL" --ca "$tmp/fed/ca.pem" --app "$APP" \
    --key "$tmp/fed/apps/$APP.json" --node-pub "$JS_PUB" --endpoint cert/search --body "$SEARCH" \
    --threads "$THREADS" --seconds "$ENGINE_SECONDS" --warmup "$WARMUP" --sm2-engine "$engine" \
    --sm2-seconds 0.3 --label "fanout $engine r$round" --json "$JSON" --tag "fanout/$engine" \
    --pid "YRD-JS=${PID[YRD-JS]}" --pid "YRD-HUB=${PID[YRD-HUB]}" --pid "YRD-SH=${PID[YRD-SH]}" \
    --pid "YRD-ZJ=${PID[YRD-ZJ]}" --pid "YRD-AH=${PID[YRD-AH]}" >>"$tmp/engines.log"
  ECERT_SM2_ENGINE=fast "$LOAD" --url "$JS_URL" --ca "$tmp/fed/ca.pem" --app node:YRD-SH \
    --key "$tmp/fed/YRD-SH/node.key" --node-pub "$JS_PUB" --endpoint cert/search \
    --body "$LOCAL_SEARCH" --threads "$THREADS" --seconds "$ENGINE_SECONDS" --warmup "$WARMUP" \
    --sm2-engine "$engine" --sm2-seconds 0.3 --label "local $engine r$round" --json "$JSON" \
    --tag "local/$engine" --pid "YRD-JS=${PID[YRD-JS]}" >>"$tmp/engines.log"
}
echo
echo "cert/search, crypto_engine = openssl vs fast on every node: the same federation restarted"
echo "between them, $ENGINE_ROUNDS rounds of both (order alternating), ${ENGINE_SECONDS} s per run after"
echo "${WARMUP} s of warm-up, $THREADS client threads on the fast engine; load: $(cut -d' ' -f1-3 /proc/loadavg)"
current=""
for ((r = 1; r <= ENGINE_ROUNDS; r++)); do
  if ((r % 2)); then order="fast openssl"; else order="openssl fast"; fi
  for e in $order; do
    if [ "$e" != "$current" ]; then stop_nodes; start_nodes "$e"; current=$e; fi
    engine_runs "$e" "$r"
  done
done
node "$(dirname "$0")/engine_summary.js" "$JSON"
