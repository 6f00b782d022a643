#!/usr/bin/env bash
# End-to-end benchmarks on real local federations (make bench; docs/testing.md):
#   1. on crypto_engine = fast:
#      - one province: cert/info/by-id on a certificate it holds;
#      - the region: cert/search at one province (fan-out to the four, via the hub);
#      - cross-province: cert/info/by-id for another province's certificate (via the hub);
#   2. the engines: cert/search on a federation whose every node runs
#      crypto_engine = openssl against the same on crypto_engine = fast, in
#      alternating rounds, for the fan-out search and for a local-only search.
# Each line: requests/s, p50/p99, and the CPU time per request of each server on
# the path, next to the CPU time of one request's SM2 operations (same run).
set -euo pipefail
BUILD=${1:-build}
SECONDS_PER=${BENCH_SECONDS:-5}
THREADS=${BENCH_THREADS:-4}
ENGINE_SECONDS=${BENCH_ENGINE_SECONDS:-1.5} # per run of the engine comparison
ENGINE_ROUNDS=${BENCH_ENGINE_ROUNDS:-6}     # each round runs both engines
WARMUP=${BENCH_WARMUP:-0.3}                 # seconds before each run's counting
ECERT="$BUILD/ecert"; ECERTD="$BUILD/ecertd"; LOAD="$BUILD/bench/bench_load"
NODES=(YRD-HUB YRD-SH YRD-JS YRD-ZJ YRD-AH YRD-TRUST)
tmp=$(mktemp -d)
declare -A PID   # "<federation>/<node id>" -> pid
cleanup() {
  local k
  for k in "${!PID[@]}"; do kill "${PID[$k]}" 2>/dev/null || true; done
  for k in "${!PID[@]}"; do wait "${PID[$k]}" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# A federation in $tmp/NAME (ecert federation init: trust, hub, four provinces,
# their stores and sample holders) whose every node runs crypto_engine = ENGINE,
# started and ready (healthz).
start_fed() { # name engine base-port
  local f=$1 engine=$2 port=$3 n
  "$ECERT" federation init "$tmp/$f" --base-port "$port" >/dev/null
  for n in "${NODES[@]}"; do
    sed -i "s/^\[node\]\$/[node]\ncrypto_engine = $engine/" "$tmp/$f/$n/node.ini"
    # The client is one address and one app, far over the default rate limits
    # (docs/limits.md); limits this high keep the limiter in the path (its
    # leases are part of what a request costs) without refusing anything.
    sed -i '/^\[limits\]$/a rate_per_app = 1000000000\nrate_per_ip = 1000000000' "$tmp/$f/$n/node.ini"
    "$ECERTD" --config "$tmp/$f/$n/node.ini" 2>"$tmp/$f-$n.log" &
    PID[$f/$n]=$!
  done
  # JSON and HTTPS from Node.js (present on every machine this project supports).
  node -e "
const https=require('https'),fs=require('fs');const d=require('$tmp/$f/federation.json');
const ca=fs.readFileSync('$tmp/$f/ca.pem');let left=d.nodes.length,tries=0;
function poll(n){https.get(n.url+'/healthz',{ca},r=>{r.resume();if(r.statusCode==200){if(--left==0)process.exit(0)}else setTimeout(()=>poll(n),100)}).on('error',()=>{if(++tries>400)process.exit(1);setTimeout(()=>poll(n),100)})}
d.nodes.forEach(poll);" || {
    echo "node_bench: the $engine federation did not come up; node logs:" >&2
    for n in "${NODES[@]}"; do echo "--- $n" >&2; tail -n 5 "$tmp/$f-$n.log" >&2; done
    return 1
  }
}
q() { node -e "const d=require('$tmp/$1/federation.json');console.log(($2))"; }
P='"UseFor":"bench","itemName":"bench","itemOrg":"bench","operator":"bench","bizNum":"B1"'
# What the bench sends to YRD-JS of federation NAME, in arrays keyed by NAME: a
# person holding certificates in Jiangsu and elsewhere, a trusted token for them
# (SPEC §6, valid 600 s), request bodies.
declare -A JS_URL JS_PUB APP BY_ID_LOCAL BY_ID_REMOTE REMOTE_PROV SEARCH LOCAL_SEARCH
prepare() { # name
  local f=$1 trust_url trust_pub holder local_id local_type remote remote_id remote_type e t
  trust_url=$(q "$f" "d.nodes.find(n=>n.id=='YRD-TRUST').url")
  trust_pub=$(q "$f" "d.nodes.find(n=>n.id=='YRD-TRUST').publicKey")
  JS_URL[$f]=$(q "$f" "d.nodes.find(n=>n.id=='YRD-JS').url")
  JS_PUB[$f]=$(q "$f" "d.nodes.find(n=>n.id=='YRD-JS').publicKey")
  APP[$f]=$(q "$f" "d.apps.find(a=>a.province=='YRD-JS').appId")
  holder=$(q "$f" "d.holders.find(h=>h.type=='111'&&h.certificates.some(c=>c.province=='YRD-JS'&&c.status=='valid')).code")
  local_id=$(q "$f" "d.holders.find(h=>h.code=='$holder').certificates.find(c=>c.province=='YRD-JS'&&c.status=='valid').id")
  local_type=$(q "$f" "d.holders.find(h=>h.code=='$holder').certificates.find(c=>c.province=='YRD-JS'&&c.status=='valid').typeCode")
  remote=$(q "$f" "JSON.stringify(d.holders.find(h=>h.code=='$holder').certificates.find(c=>c.province!='YRD-JS'&&c.status=='valid'))")
  remote_id=$(node -e "console.log(($remote).id)"); remote_type=$(node -e "console.log(($remote).typeCode)")
  REMOTE_PROV[$f]=$(node -e "console.log(($remote).province)")
  e=$(printf %s "$holder" | "$ECERT" sm2 encrypt --pub "$trust_pub")
  t=$("$ECERT" call "$trust_url" trust/token/person --app "${APP[$f]}" --key "@$tmp/$f/apps/${APP[$f]}.json" \
       --node-pub "$trust_pub" --ca "$tmp/$f/ca.pem" \
       '{"transactionId":"B1","authType":"2","name":"bench","idType":"1","idNo":"'"$e"'"}' |
       node -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>console.log(JSON.parse(s).trustedToken))")
  local scene_local scene_remote
  scene_local=$(q "$f" "d.scenes.find(s=>s.types.includes('$local_type')).itemCode")
  scene_remote=$(q "$f" "d.scenes.find(s=>s.types.includes('$remote_type')).itemCode")
  BY_ID_LOCAL[$f]='{"CertificateID":"'"$local_id"'","trustedToken":"'"$t"'","itemCode":"'"$scene_local"'",'"$P"'}'
  BY_ID_REMOTE[$f]='{"CertificateID":"'"$remote_id"'","trustedToken":"'"$t"'","itemCode":"'"$scene_remote"'",'"$P"'}'
  SEARCH[$f]='{"trustedToken":"'"$t"'","itemCode":"'"$scene_local"'",'"$P"'}'
  LOCAL_SEARCH[$f]='{"trustedToken":"'"$t"'","itemCode":"'"$scene_local"'",'"$P"',"requesterApp":"'"${APP[$f]}"'","requesterNode":"YRD-SH"}'
}
pids() { # federation node... -> --pid NODE=PID ...
  local f=$1 n; shift
  for n in "$@"; do printf -- '--pid\n%s=%s\n' "$n" "${PID[$f/$n]}"; done
}
# bench_load against YRD-JS of federation F as its app (or, with --app/--key
# among the options, as someone else); the client stays on the fast engine.
load() { # federation endpoint body options...
  local f=$1 ep=$2 body=$3; shift 3
  ECERT_SM2_ENGINE=fast "$LOAD" --url "${JS_URL[$f]}" --ca "$tmp/$f/ca.pem" --app "${APP[$f]}" \
    --key "$tmp/$f/apps/${APP[$f]}.json" --node-pub "${JS_PUB[$f]}" --endpoint "$ep" --body "$body" \
    --threads "$THREADS" "$@"
}
ALL=(YRD-JS YRD-HUB YRD-SH YRD-ZJ YRD-AH)
base=$((30000 + RANDOM % 20000))
start_fed fast fast "$base"
start_fed openssl openssl $((base + 10))
prepare fast
prepare openssl

# ---- 1. the fast engine: three paths ------------------------------------------
# Each run first warms up for 64 requests: every handler thread of a node keeps
# its own connections to its peers (docs/http.md), so a cold federation spends
# its first few dozen requests on TLS handshakes.
echo "end-to-end, crypto_engine = fast, one client process with $THREADS threads, ${SECONDS_PER} s each (2 cores shared by clients and servers):"
mapfile -t PJS < <(pids fast YRD-JS)
mapfile -t PALL < <(pids fast "${ALL[@]}")
mapfile -t PREMOTE < <(pids fast YRD-JS YRD-HUB "${REMOTE_PROV[fast]}")
load fast cert/info/by-id "${BY_ID_LOCAL[fast]}" --seconds "$SECONDS_PER" --warmup-requests 64 \
  --label "by-id, local (JS)" "${PJS[@]}"
load fast cert/search "${SEARCH[fast]}" --seconds "$SECONDS_PER" --warmup-requests 64 \
  --label "search, 4 provinces via hub" "${PALL[@]}"
load fast cert/info/by-id "${BY_ID_REMOTE[fast]}" --seconds "$SECONDS_PER" --warmup-requests 64 \
  --label "by-id, ${REMOTE_PROV[fast]} via hub" "${PREMOTE[@]}"

# ---- 2. the engines: crypto_engine = openssl against fast, on every node --------
# Two federations made alike by ecert federation init (same nodes, same sample
# holders and certificates, different keys and serial numbers), running side by
# side: every node of one on the OpenSSL engine, of the other on the fast one.
# Both stay up and warm; the runs alternate fast openssl | openssl fast | ... so
# that a change of the machine's load weighs on both alike. The client stays on
# the fast engine throughout: only the servers change. Workloads, both
# cert/search for the same holder at YRD-JS:
#   fanout  an app's search: YRD-JS checks it, searches its library, asks the
#           three other provinces through the hub (one envelope each), merges;
#   local   the same search sent by a node (appId node:YRD-SH, signed with
#           YRD-SH's key): a node's question is answered from the local library
#           alone (docs/federation.md), so only YRD-JS works. This is the
#           request every other province serves during a fan-out.
JSON="$tmp/engines.jsonl"; : >"$JSON"
engine_runs() { # federation/engine round [extra options]
  local e=$1 round=$2; shift 2
  local -a pall pjs
  mapfile -t pall < <(pids "$e" "${ALL[@]}")
  mapfile -t pjs < <(pids "$e" YRD-JS)
  load "$e" cert/search "${SEARCH[$e]}" --seconds "$ENGINE_SECONDS" --warmup "$WARMUP" \
    --sm2-engine "$e" --sm2-seconds 0.3 --label "fanout $e r$round" --tag "fanout/$e" "$@" \
    "${pall[@]}"
  load "$e" cert/search "${LOCAL_SEARCH[$e]}" --app node:YRD-SH --key "$tmp/$e/YRD-SH/node.key" \
    --seconds "$ENGINE_SECONDS" --warmup "$WARMUP" --sm2-engine "$e" --sm2-seconds 0.3 \
    --label "local $e r$round" --tag "local/$e" "$@" "${pjs[@]}"
}
echo
echo "cert/search, crypto_engine = openssl vs fast on every node: two federations alike, side by"
echo "side, both warmed up; $ENGINE_ROUNDS rounds of both (order alternating), ${ENGINE_SECONDS} s per run after"
echo "${WARMUP} s of warm-up, $THREADS client threads on the fast engine; load: $(cut -d' ' -f1-3 /proc/loadavg)"
# The openssl federation's first 64 searches of each kind, not counted
# (the fast one had its own in part 1; the local search is warmed here too).
for e in openssl fast; do engine_runs "$e" 0 --warmup-requests 64 >/dev/null; done
for ((r = 1; r <= ENGINE_ROUNDS; r++)); do
  if ((r % 2)); then order="fast openssl"; else order="openssl fast"; fi
  for e in $order; do engine_runs "$e" "$r" --json "$JSON" >>"$tmp/engines.log"; done
done
node "$(dirname "$0")/engine_summary.js" "$JSON"
