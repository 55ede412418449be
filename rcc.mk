# rcc.mk — GNU make rules for models written as rcc specs (.arch).
#
# Installed with rcc; a project's Makefile includes it through pkg-config:
#
#     include $(shell pkg-config --variable=rcc_mk rcc)
#
# and then any NAME.arch becomes NAME.c and NAME.h on demand (rcc gen),
# with the spec's imports recorded as dependencies in NAME.d (rcc gen -MD
# -MF, like gcc's), so editing an imported spec regenerates the model.
#
# Variables:
#   RCC            the rcc program (default: rcc on PATH)
#   RCC_GENFLAGS   more options for rcc gen: --main, --embed W, --prefix P,
#                  --size T=8, --model NAME

RCC ?= rcc
RCC_GENFLAGS ?=

%.c %.h: %.arch
	$(RCC) gen $< -o $*.c -MD -MF $*.d $(RCC_GENFLAGS)

-include $(wildcard *.d)
