./.bochsfb.o.d: bochsfb.rs card.rs chardev.rs dispi.rs edid.rs fbdev.rs mode.rs shadow.rs sysfs.rs vram.rs /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libcore.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libkernel.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libffi.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libcompiler_builtins.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libpin_init.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libpin_init_internal.so /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libmacros.so /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libbuild_error.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libzerocopy.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libbindings.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libzerocopy_derive.so /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libuapi.rmeta

bochsfb.o: bochsfb.rs card.rs chardev.rs dispi.rs edid.rs fbdev.rs mode.rs shadow.rs sysfs.rs vram.rs /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libcore.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libkernel.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libffi.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libcompiler_builtins.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libpin_init.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libpin_init_internal.so /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libmacros.so /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libbuild_error.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libzerocopy.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libbindings.rmeta /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libzerocopy_derive.so /root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libuapi.rmeta

bochsfb.rs:
card.rs:
chardev.rs:
dispi.rs:
edid.rs:
fbdev.rs:
mode.rs:
shadow.rs:
sysfs.rs:
vram.rs:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libcore.rmeta:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libkernel.rmeta:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libffi.rmeta:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libcompiler_builtins.rmeta:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libpin_init.rmeta:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libpin_init_internal.so:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libmacros.so:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libbuild_error.rmeta:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libzerocopy.rmeta:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libbindings.rmeta:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libzerocopy_derive.so:
/root/.cache/bochsfb/build/a7e531b8fb7f55ed/rust/libuapi.rmeta:
