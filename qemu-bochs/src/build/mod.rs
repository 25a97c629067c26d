//! The build, step by step: the prerequisites (and the apt policy that installs them), the
//! guest kernel's source and build, the `bochsfb` module, the guest programs, the Debian tools
//! and peer modules the guest carries, the initramfs that holds them, and the manifest
//! ([`artifacts`]) that names the result.

pub(crate) mod apt;
pub mod artifacts;
pub(crate) mod bindings_layout;
pub(crate) mod cpio;
pub(crate) mod debian_tools;
pub(crate) mod guest_programs;
pub(crate) mod initramfs;
pub(crate) mod install_policy;
pub(crate) mod kernel_build;
pub(crate) mod kernel_source;
pub(crate) mod module;
pub(crate) mod peer_modules;
pub mod prereqs;
