//! A program left running in the guest while the host looks at the screen: a client that
//! holds a mode until it reads a key (modetest), or a compositor. Its stdin is a FIFO that
//! stays open, so it waits as long as the host wants and ends when the host writes to it; its
//! stdout and stderr go to files, not to the console the harness speaks its protocol on.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use qemu_bochs::{RunOutput, Vm};

use crate::COMMAND_TIMEOUT;

/// Seconds between two looks at a condition in the guest.
const POLL_S: f64 = 0.1;

/// A program running in the background of the guest, in its directory `/tmp/bg-<name>`:
/// `in` (its stdin, a FIFO), `out`, `err`, `pid`, and `status` once it has exited.
pub struct Background<'a> {
    vm: &'a Vm,
    dir: String,
    command: String,
    pub pid: u32,
}

/// How a background program ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `timeout` as a number of polls.
fn polls(timeout: Duration) -> u64 {
    (timeout.as_secs_f64() / POLL_S).ceil() as u64
}

impl<'a> Background<'a> {
    /// Starts `command` (one shell command line) and waits until the shell condition `ready`
    /// holds (`$pid` is the program's pid, `$d` its directory); fails if the program exits
    /// first or `timeout` passes, showing what it printed.
    pub fn start(
        vm: &'a Vm,
        name: &str,
        command: &str,
        ready: &str,
        timeout: Duration,
    ) -> Result<Self> {
        let dir = format!("/tmp/bg-{name}");
        let limit = polls(timeout);
        // The holder keeps the FIFO open at both ends: the program never sees end of file,
        // and neither its open nor a later write blocks. The subshell records the exit status.
        let script = format!(
            "d={dir}; rm -rf $d; mkdir -p $d; mkfifo $d/in; sleep 1000000 <> $d/in & \
             echo $! > $d/holder; \
             ({command} < $d/in > $d/out 2> $d/err & echo $! > $d/pid; wait $!; \
             echo $? > $d/status) & \
             until [ -s $d/pid ]; do sleep {POLL_S}; done; pid=$(cat $d/pid); n=0; \
             until {ready}; do \
             if [ -e $d/status ]; then echo \"exited with status $(cat $d/status) before it \
             was ready\"; cat $d/out $d/err; exit 3; fi; \
             n=$((n+1)); if [ $n -gt {limit} ]; then echo \"not ready after {timeout:?}\"; \
             cat $d/out $d/err; exit 4; fi; sleep {POLL_S}; done; echo pid=$pid"
        );
        let out = vm.run(&script, timeout + COMMAND_TIMEOUT)?;
        println!("$ {command} &   # until {ready}\n{}", out.output);
        ensure!(
            out.status == 0,
            "`{command}` in the background: {}",
            out.output.trim()
        );
        let pid = out
            .output
            .lines()
            .find_map(|l| l.trim().strip_prefix("pid="))
            .context("no pid from the guest")?
            .parse()
            .context("bad pid from the guest")?;
        Ok(Background {
            vm,
            dir,
            command: command.to_string(),
            pid,
        })
    }

    /// Runs `command` in the guest with `$pid` and `$d` set.
    pub fn shell(&self, command: &str) -> Result<RunOutput> {
        let line = format!("d={}; pid={}; {command}", self.dir, self.pid);
        self.vm.run(&line, COMMAND_TIMEOUT)
    }

    /// Sends `signal` (`STOP`, `CONT`, ...), then lets the guest run `settle` before returning.
    pub fn signal(&self, signal: &str, settle: Duration) -> Result<()> {
        let out = self.shell(&format!(
            "kill -{signal} $pid && sleep {}",
            settle.as_secs_f64()
        ))?;
        ensure!(
            out.status == 0,
            "kill -{signal} {}: {}",
            self.pid,
            out.output.trim()
        );
        Ok(())
    }

    /// What the program has written to stderr so far.
    pub fn stderr(&self) -> Result<String> {
        Ok(self.shell("cat $d/err")?.output)
    }

    /// Writes `input` (printf format, e.g. `\n`) to the program's stdin and waits up to
    /// `timeout` for it to exit; fails if it does not (and kills it).
    pub fn finish(self, input: &str, timeout: Duration) -> Result<Finished> {
        self.end(&format!("printf '{input}' > $d/in"), "its input", timeout)
    }

    /// Sends SIGTERM and waits up to `timeout` for the program to exit; fails if it does not
    /// (and kills it).
    pub fn terminate(self, timeout: Duration) -> Result<Finished> {
        self.end("kill -TERM $pid", "SIGTERM", timeout)
    }

    /// Runs `action`, then waits for the exit status.
    fn end(self, action: &str, what: &str, timeout: Duration) -> Result<Finished> {
        let limit = polls(timeout);
        let out = self.shell(&format!(
            "{action}; n=0; until [ -e $d/status ]; do n=$((n+1)); \
             if [ $n -gt {limit} ]; then kill -9 $pid; kill $(cat $d/holder); \
             echo \"still running {timeout:?} after {what}\"; exit 4; fi; sleep {POLL_S}; \
             done; kill $(cat $d/holder); echo status=$(cat $d/status)"
        ))?;
        let stdout = self.shell("cat $d/out")?.output;
        let stderr = self.shell("cat $d/err")?.output;
        println!(
            "$ {}   # ended\n{}--- stdout\n{stdout}--- stderr\n{stderr}---",
            self.command, out.output
        );
        if out.status != 0 {
            bail!("`{}`: {}", self.command, out.output.trim());
        }
        let status = out
            .output
            .lines()
            .find_map(|l| l.trim().strip_prefix("status="))
            .context("no exit status from the guest")?
            .parse()
            .context("bad exit status from the guest")?;
        Ok(Finished {
            status,
            stdout,
            stderr,
        })
    }
}
