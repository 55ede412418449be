## tests.mk — the test list (included by Makefile.am)
TESTS = \
	tests/cli.sh \
	tests/parity/checkpoint.parity \
	tests/parity/checkpoint_optim.parity \
	tests/parity/ckpt_nested.parity \
	tests/parity/ckpt_protocol5.parity \
	tests/parity/ckpt_python.parity \
	tests/parity/cnn_bn.parity \
	tests/parity/deflated.parity \
	tests/parity/dtypes.parity \
	tests/parity/lstm.parity \
	tests/parity/mlp.parity \
	tests/parity/module_prefix.parity \
	tests/parity/parameter.parity \
	tests/parity/protocol4.parity \
	tests/parity/resnet18.parity \
	tests/parity/tied.parity \
	tests/parity/transformer.parity \
	tests/parity/views.parity \
	tests/bad/bad_cd_corrupt.bad \
	tests/bad/bad_deep_nesting.bad \
	tests/bad/bad_empty.bad \
	tests/bad/bad_os_system.bad \
	tests/bad/bad_plain_pickle.bad \
	tests/bad/bad_record_short.bad \
	tests/bad/bad_shape_overflow.bad \
	tests/bad/bad_storage_short.bad \
	tests/bad/bad_text.bad \
	tests/bad/bad_truncated.bad \
	tests/golden/checkpoint.dump \
	tests/golden/ckpt_nested.dump \
	tests/golden/ckpt_protocol5.dump \
	tests/golden/ckpt_python.dump \
	tests/golden/dtypes.dump \
	tests/golden/views.dump
