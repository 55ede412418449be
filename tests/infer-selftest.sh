#!/bin/sh
# tests/infer-selftest.sh — tests/infer-family.sh and gen_infer.py's fixtures,
# before `rcc infer` exists (issue 10).
#
# A stand-in rcc, in $tmp, answers `rcc infer W -o OUT` with a spec written
# here by hand (what a perfect infer would write) and a log line
# "rcc: infer: family NAME fits W"; every other command is the real rcc.
# With it, infer-family.sh must pass on three cases (mlp2, conv1d_bn:
# BatchNorm statistics; rnnlm_lstm: token ids, an LSTM) -- so the fixtures
# are what torch computed and what rcc run computes from the right spec --
# and must fail, for the right reason, when the stand-in names another
# family, decides a value wrongly, drops a layer (rcc check fails), or
# gets an activation or an epsilon wrong (the outputs are off torch's).
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES srcdir PYTHON
need_exe "$RCC" RCC
need_file "$FIXTURES/infer/manifest.txt" "the fixtures of tests/gen_infer.py, which make check writes"
driver=$testsdir/infer-family.sh
need_file "$driver"

mkdir "$tmp/bin" "$tmp/spec" "$tmp/cases"
cat >"$tmp/bin/rcc" <<'EOF'
#!/bin/sh
if [ "$1" = infer ]; then
    [ "$3" = -o ] || { echo "stand-in rcc: usage: rcc infer W -o OUT" >&2; exit 2; }
    cp "$SELFTEST_SPEC" "$4" || exit 2
    echo "rcc: infer: family $SELFTEST_FAMILY fits $2" >&2
    exit 0
fi
exec "$SELFTEST_RCC" "$@"
EOF
chmod +x "$tmp/bin/rcc"

cat >"$tmp/spec/mlp2.arch" <<'EOF'
# mlp([20, 32, 10])
model MLP {
  input x: f32[N, 20]
  sizes = [20, 32, 10]        # 0.weight [32, 20], 2.weight [10, 32]
  self = Sequential(Linear(20, 32), ReLU(), Linear(32, 10))
  forward(x) {
    return self(x)
  }
}
EOF
cat >"$tmp/spec/conv1d_bn.arch" <<'EOF'
model Conv1dStack {
  input x: f32[N, 4, 32]
  in_channels = 4
  channels = [8, 16]
  num_classes = 10
  batch_norm = true
  self = Sequential(Conv1d(4, 8, 3, padding = 1, bias = false), BatchNorm1d(8), ReLU(), MaxPool1d(2),
                    Conv1d(8, 16, 3, padding = 1, bias = false), BatchNorm1d(16), ReLU(), MaxPool1d(2),
                    Flatten(), Linear(128, 10))
  forward(x) {
    return self(x)
  }
}
EOF
cat >"$tmp/spec/rnnlm_lstm.arch" <<'EOF'
model RNNLM {
  input x: i64[N, T]
  vocab_size = 50
  embed_dim = 16
  hidden_size = 32
  num_layers = 1
  cell = "LSTM"
  bidirectional = false
  embed = Embedding(50, 16)
  rnn = LSTM(16, 32, num_layers = 1, batch_first = true)
  head = Linear(32, 50)
  forward(x) {
    h, state = rnn(embed(x))
    return head(h)
  }
}
EOF
# the wrong answers: a value decided wrongly; the ReLU an Identity (checks, runs, is not torch's)
sed 's/^  sizes = \[20, 32, 10\]/  sizes = [20, 31, 10]/' "$tmp/spec/mlp2.arch" >"$tmp/spec/mlp2_value.arch"
sed 's/Linear(20, 32), ReLU(), Linear(32, 10)/Linear(20, 32), Identity(), Linear(32, 10)/' \
    "$tmp/spec/mlp2.arch" >"$tmp/spec/mlp2_norelu.arch"
# a dropped BatchNorm: rcc check must refuse it (its keys are in the file); an
# epsilon of 1e-3 for torch's 1e-5: as the weights go, right; as the outputs go, not
sed 's/BatchNorm1d(8), //' "$tmp/spec/conv1d_bn.arch" >"$tmp/spec/conv1d_bn_nobn.arch"
sed 's/BatchNorm1d(8)/BatchNorm1d(8, eps = 1e-3)/' "$tmp/spec/conv1d_bn.arch" >"$tmp/spec/conv1d_bn_eps.arch"
cmp -s "$tmp/spec/mlp2.arch" "$tmp/spec/mlp2_norelu.arch" && fail "the sed making mlp2_norelu changed nothing"
cmp -s "$tmp/spec/mlp2.arch" "$tmp/spec/mlp2_value.arch" && fail "the sed making mlp2_value changed nothing"
cmp -s "$tmp/spec/conv1d_bn.arch" "$tmp/spec/conv1d_bn_nobn.arch" && fail "the sed making conv1d_bn_nobn changed nothing"
cmp -s "$tmp/spec/conv1d_bn.arch" "$tmp/spec/conv1d_bn_eps.arch" && fail "the sed making conv1d_bn_eps changed nothing"

# case SPEC FAMILY WANT [PATTERN]: infer-family.sh on tests/infer/CASE.infer with
# the stand-in; WANT pass or fail, a failure's log holding PATTERN
failed=0
check_case() {
    _case=$1 _spec=$2 _family=$3 _want=$4 _pat=${5:-}
    cp "$srcdir/tests/infer/$_case.infer" "$tmp/cases/$_case.infer"
    _rc=0
    SELFTEST_SPEC=$tmp/spec/$_spec.arch SELFTEST_FAMILY=$_family SELFTEST_RCC=$RCC RCC=$tmp/bin/rcc \
        sh "$driver" "$tmp/cases/$_case.infer" >"$tmp/log" 2>&1 || _rc=$?
    if [ "$_want" = pass ] && [ "$_rc" -ne 0 ]; then
        show "infer-family.sh $_case with $_spec.arch" "$tmp/log"
        say "$_spec: infer-family.sh failed where it must pass (exit $_rc)"
        failed=1
    elif [ "$_want" = fail ] && [ "$_rc" -eq 0 ]; then
        show "infer-family.sh $_case with $_spec.arch" "$tmp/log"
        say "$_spec: infer-family.sh passed where it must fail"
        failed=1
    elif [ "$_want" = fail ] && ! grep -q -- "$_pat" "$tmp/log"; then
        show "infer-family.sh $_case with $_spec.arch" "$tmp/log"
        say "$_spec: infer-family.sh failed, but its log does not say '$_pat'"
        failed=1
    else
        say "ok: $_case with $_spec.arch: $_want$(grep -h 'max rel error' "$tmp/log" | sed 's/^/; /' | tr '\n' ' ')"
    fi
}

check_case mlp2 mlp2 mlp pass
check_case conv1d_bn conv1d_bn conv1d_stack pass
check_case rnnlm_lstm rnnlm_lstm rnn_lm pass
check_case mlp2 mlp2 resnet fail "chose family 'resnet', expected 'mlp'"
check_case mlp2 mlp2_value mlp fail "MISSING: sizes = \[20, 32, 10\] -- the spec has line 4: sizes = \[20, 31, 10\]"
check_case mlp2 mlp2_norelu mlp fail "mlp2 out0: max rel error .* -- worst at"
check_case conv1d_bn conv1d_bn_nobn conv1d_stack fail "rcc check of the inferred spec exited"
check_case conv1d_bn conv1d_bn_eps conv1d_stack fail "conv1d_bn out0: max rel error .* -- worst at"

[ "$failed" -eq 0 ] || fail "infer-family.sh does not tell a right spec from a wrong one"
say "PASS: infer-family.sh passes the right specs and fails the wrong ones"
