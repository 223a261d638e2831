#!/bin/bash
# A manual arm64 check of the mtmd addon, on an x64 Debian machine (not run by CI; docs/runtimes.md):
# cross-compiles llama.cpp's mtmd (from node-llama-cpp's bundle, as runners/llamacpp/mtmd-native/build.ts
# compiles it) and the suite's addon.cc for linux-arm64, linked with -Wl,--no-undefined against
# node-llama-cpp's prebuilt @node-llama-cpp/linux-arm64 libraries, plus check.cc, which loads the
# addon and runs one image through mtmd and llama.cpp under qemu-aarch64:
#   apt-get install g++-aarch64-linux-gnu qemu-user
#   bench/mtmd-arm64/build.sh            # OUT=/tmp/mtmd-arm64 by default
#   QEMU_LD_PREFIX=/usr/aarch64-linux-gnu LD_LIBRARY_PATH=$OUT qemu-aarch64 $OUT/check $OUT/vlm-bench-mtmd.node \
#     node_modules/@node-llama-cpp/linux-arm64/bins/linux-arm64 LLM.gguf MMPROJ.gguf IMAGE.jpg
# Node-API's functions come from node at load time; a stub library of their names stands in for it.
set -euo pipefail
WT=$(cd "$(dirname "$0")/../.." && pwd)
B=${OUT:-/tmp/mtmd-arm64}
ARM=$WT/node_modules/@node-llama-cpp/linux-arm64/bins/linux-arm64
BUNDLE=$WT/node_modules/node-llama-cpp/llama/gitRelease.bundle
CXX=aarch64-linux-gnu-g++; CC=aarch64-linux-gnu-gcc; AR=aarch64-linux-gnu-ar
rm -rf $B; mkdir -p $B/obj; cd $B
start=$(date +%s)
git clone -q --no-checkout $BUNDLE llama.cpp
HEAD=$(git bundle list-heads $BUNDLE | awk '{print $1; exit}')
git -C llama.cpp -c advice.detachedHead=false checkout -q $HEAD
T=$B/llama.cpp; M=$T/tools/mtmd; H=$T/vendor/hash
INC="-I$T/include -I$T/ggml/include -I$M -I$T/vendor -I$H"
FLAGS="-std=c++17 -O2 -DNDEBUG -fPIC -w -DLLAMA_SHARED"
SRCS=$(cd $WT && node --import tsx -e "import('./runners/llamacpp/mtmd-native/build.ts').then(m=>console.log(m.mtmdLibrarySources(require('fs').readFileSync('$M/CMakeLists.txt','utf8')).join(' ')))")
i=0; : > cmds.txt
for s in $SRCS; do i=$((i+1)); echo "$CXX $FLAGS -DLLAMA_BUILD $INC -c $M/$s -o obj/$i.o" >> cmds.txt; done
echo "$CXX $FLAGS $INC -c $H/hash.cpp -o obj/h1.o" >> cmds.txt
echo "$CXX $FLAGS $INC -x c++ -c $H/sha1/sha1.c -o obj/h2.o" >> cmds.txt
echo "$CC -O2 -DNDEBUG -fPIC -w $INC -c $H/xxhash/xxhash.c -o obj/h3.o" >> cmds.txt
echo "$CC -O2 -DNDEBUG -fPIC -w $INC -c $H/sha256/sha256.c -o obj/h4.o" >> cmds.txt
xargs -P 2 -I{} sh -c '{}' < cmds.txt
$AR rcs libmtmd.a obj/*.o
echo "mtmd library: $(( $(date +%s) - start )) s, $(wc -l < cmds.txt) files"
NAPI=$WT/node_modules/node-api-headers; NAA=$WT/node_modules/node-addon-api
$CXX -std=c++17 -O2 -DNDEBUG -fPIC -Wall -DLLAMA_SHARED -DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS -I$T/include -I$T/ggml/include -I$M -I$NAPI/include -I$NAA -c $WT/runners/llamacpp/mtmd-native/addon.cc -o addon.o
# A stub library exporting every name in node-api-headers' symbol lists lets --no-undefined
# check everything else.
grep -hvE '^(NAME|EXPORTS|LIBRARY)|^\s*$' $NAPI/def/node_api.def $NAPI/def/js_native_api.def | awk '{print $1}' | sort -u | sed 's/.*/extern "C" void &(void) {}/' > napi-stub.cc
$CXX -shared -fPIC -o libnapistub.so napi-stub.cc
$CXX -shared -o vlm-bench-mtmd.node addon.o libmtmd.a -L$ARM -l:libllama.v0.4.0.so -l:libggml.v0.4.0.so -l:libggml-base.so -L. -lnapistub -Wl,-rpath,$ARM -lpthread -Wl,--no-undefined
echo "addon linked with --no-undefined: $(( $(date +%s) - start )) s"
file vlm-bench-mtmd.node
$CXX -std=c++17 -O2 -I$T/include -I$T/ggml/include -I$M $WT/bench/mtmd-arm64/check.cc -o check libmtmd.a -L$ARM -l:libllama.v0.4.0.so -l:libggml.v0.4.0.so -l:libggml-base.so -L. -lnapistub -Wl,-rpath,$ARM -Wl,-rpath,$B -ldl -lpthread -Wl,--no-undefined
echo "check program linked: $(( $(date +%s) - start )) s"
