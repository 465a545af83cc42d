// C runtime glue for Embedded-Swift proxy-wasm modules. Everything is compiled
// only for wasm32; natively this target is empty so it cannot replace the
// host's libc symbols.
#pragma once
