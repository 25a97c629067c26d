//! The build, step by step: the prerequisites (and the apt policy that installs them), the
//! guest kernel's source and build, the `bochsfb` module, the guest programs, the Debian tools
//! and peer modules the guest carries, the initramfs that holds them, and the manifest
//! ([`artifacts`]) that names the result.

pub mod apt;
pub mod artifacts;
pub mod bindings_layout;
pub mod cpio;
pub mod debian_tools;
pub mod guest_programs;
pub mod initramfs;
pub mod install_policy;
pub mod kernel_build;
pub mod kernel_source;
pub mod module;
pub mod peer_modules;
pub mod prereqs;
