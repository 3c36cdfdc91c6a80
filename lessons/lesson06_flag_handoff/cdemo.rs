//! A small C program that a lesson writes, builds with the student's own `cc`, runs for a
//! short while and stops: how lesson 06 shows what the source documents' C really does at
//! `-O2` (its plain `int` flag hangs), with no undefined behaviour in the workbook's Rust.
//!
//! - is there a `cc` on `PATH`? [`compiler`]; without one the lesson says so and skips the part.
//! - `cc -O2 -o prog prog.c`: [`compile`], in a [`ScratchDir`] that removes both files.
//! - `objdump -d --disassemble=f prog`: [`disassemble`]; [`Disassembly::wait_loop`] finds the
//!   loop.
//! - `fork()`, `shmget`, then `execv("prog", ...)`: [`start`]; the segment is made (and written
//!   down) before the program runs.
//! - the segment, by key: [`Running::adopt_segment`]; removed by the lesson, on Ctrl-C too.
//! - is it running, and how much CPU has it used? [`process_state`], from `/proc/<pid>/stat`.
//! - `kill(pid, SIGINT)`, `waitpid(pid, &status, 0)`: [`kill`], [`Running::reap_orphan`],
//!   [`Running::wait`]; recorded.
//! - segments that outlived their creator: [`leftovers`], what `ipcs -m -p` shows, filtered.
//!
//! Nothing is left behind: [`start`] makes this process a *child subreaper*, so that the
//! program's own children, orphaned when it dies, become this process's children and are
//! reaped here (the `init` of a container may never reap them); dropping a [`Running`] kills
//! and reaps the program and its children.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use shm_workbook::call;
use shm_workbook::cleanup;
use shm_workbook::error::{Error, Result};
use shm_workbook::narrate::{Narrator, print_block};
use shm_workbook::process::{self, Exit};
use shm_workbook::procfs;
use shm_workbook::region::{ReadOnly, Region};
use shm_workbook::scratch::ScratchDir;
use shm_workbook::sysv::key::Key;
use shm_workbook::sysv::shm::Segment;
use shm_workbook::wait::Partner;

/// The first executable `cc` on `PATH`, the compiler a student would type.
pub fn compiler() -> Option<PathBuf> {
    find_program("cc")
}

fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| {
        std::fs::metadata(candidate)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

/// A program that `cc` built.
#[derive(Debug)]
pub struct Program {
    binary: PathBuf,
    command: String,
    compiler: String,
}

impl Program {
    /// The executable.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The command that built it: `cc -O2 -o /tmp/.../flag /tmp/.../flag.c`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The first line of `cc --version`: `cc (Debian 12.2.0-14) 12.2.0`.
    pub fn compiler(&self) -> &str {
        &self.compiler
    }
}

/// What `cc` made of the source.
#[derive(Debug)]
pub enum Build {
    /// The program, ready to run.
    Built(Program),
    /// `cc` failed (no C library headers, say): the command and its first error line.
    Failed {
        /// The command that failed.
        command: String,
        /// The first line of its messages that names an error (or the first line).
        message: String,
    },
}

/// Writes `source` to `<name>.c` in `dir` and runs `cc <flags> -o <name> <name>.c` there.
/// Ctrl-C is held while `cc` runs (in a terminal it stops `cc` too), so that the cleanup
/// handler, which removes the directory, runs after `cc` has written its last file.
pub fn compile(
    cc: &Path,
    dir: &mut ScratchDir,
    name: &str,
    source: &str,
    flags: &[&str],
) -> Result<Build> {
    let source_path = dir.create_file(&format!("{name}.c"), source.as_bytes())?;
    let binary = dir.reserve(name)?;
    let command =
        format!("cc {} -o {} {}", flags.join(" "), binary.display(), source_path.display());
    let mut cc_command = Command::new(cc);
    cc_command.args(flags).arg("-o").arg(&binary).arg(&source_path).stdin(Stdio::null());
    let output = cleanup::with_signals_held(|| cc_command.output())
        .map_err(|err| Error::io(&command, err))?;
    if !output.status.success() {
        let messages = String::from_utf8_lossy(&output.stderr).into_owned();
        let message = messages
            .lines()
            .find(|line| line.contains("error"))
            .or_else(|| messages.lines().next())
            .unwrap_or("(no message)")
            .to_owned();
        return Ok(Build::Failed { command, message });
    }
    let version = Command::new(cc).arg("--version").stdin(Stdio::null()).output();
    let compiler = version
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_owned))
        .unwrap_or_else(|| cc.display().to_string());
    Ok(Build::Built(Program { binary, command, compiler }))
}

/// One instruction of a disassembled function, as objdump prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// Its address in the file.
    pub address: u64,
    /// The instruction, its spaces collapsed: `mov (%rdi),%eax`.
    pub text: String,
}

impl Instruction {
    /// Whether it reads or writes memory: an operand in parentheses (x86, AT&T syntax) or in
    /// brackets (Arm), padding `nop`s aside.
    pub fn touches_memory(&self) -> bool {
        !self.text.starts_with("nop") && (self.text.contains('(') || self.text.contains('['))
    }

    /// The address it jumps to, when it jumps within `function`: `je 1438 <wait_while+0x8>`.
    fn jump_target(&self, function: &str) -> Option<u64> {
        let (before, _) = self.text.split_once(&format!(" <{function}"))?;
        u64::from_str_radix(before.split([' ', ',']).next_back()?, 16).ok()
    }
}

/// Lesson 06's C wait loop as `cc` compiled it (`objdump -d`), the loop's instructions marked
/// with `>`.
pub fn show_wait_loop(out: &Narrator, program: &Program) {
    let Some(code) = disassemble(program, "wait_while") else {
        out.explain("objdump (binutils) could not show the compiled loop: the run below shows it");
        return;
    };
    out.explain(
        "wait_while(box, value), that is `while (box->flag == value) ;`, as cc compiled it \
         (objdump -d):",
    );
    shm_workbook::narrate::print_block(code.listing());
    out.explain(match (code.loop_reads_memory(), code.load_before_loop()) {
        (None, _) => "no loop at all: this compiler assumed the loop ends (C11 allows that of a \
                      loop without side effects) and deleted it"
            .to_owned(),
        (Some(true), _) => "the loop (>) reads memory each time round: this build may seem to \
                            work, but it is still a data race"
            .to_owned(),
        (Some(false), load) => format!(
            "the loop (>) reads no memory: the flag was loaded once, before it ({}); if that copy \
             says wait, it waits for ever",
            load.map_or("in a register", |i| i.text.as_str())
        ),
    });
}

/// A function of a program as `objdump -d` shows it.
#[derive(Clone, Debug)]
pub struct Disassembly {
    function: String,
    instructions: Vec<Instruction>,
}

/// `objdump -d --no-show-raw-insn --disassemble=<function> <program>`; `None` when there is
/// no objdump (binutils) or it does not find the function.
pub fn disassemble(program: &Program, function: &str) -> Option<Disassembly> {
    let objdump = find_program("objdump")?;
    let output = Command::new(objdump)
        .args(["-d", "--no-show-raw-insn", &format!("--disassemble={function}")])
        .arg(program.binary())
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Disassembly::parse(&String::from_utf8_lossy(&output.stdout), function)
}

impl Disassembly {
    /// Reads objdump's listing of `function`: the lines after `<function>:`, up to a blank line.
    pub fn parse(listing: &str, function: &str) -> Option<Disassembly> {
        let header = format!("<{function}>:");
        let instructions: Vec<Instruction> = listing
            .lines()
            .skip_while(|line| !line.trim_end().ends_with(&header))
            .skip(1)
            .take_while(|line| !line.trim().is_empty())
            .filter_map(|line| {
                let (address, text) = line.split_once(':')?;
                let address = u64::from_str_radix(address.trim(), 16).ok()?;
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                (!text.is_empty()).then_some(Instruction { address, text })
            })
            .collect();
        (!instructions.is_empty())
            .then(|| Disassembly { function: function.to_owned(), instructions })
    }

    /// Its instructions, in order.
    #[cfg(test)]
    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }

    /// The loop: from the target of the first jump that goes back (to itself or before) to
    /// that jump, as indices into [`instructions`](Self::instructions). `None` when the
    /// function has no loop (a compiler may delete a loop it assumes ends).
    pub fn wait_loop(&self) -> Option<std::ops::RangeInclusive<usize>> {
        self.instructions.iter().enumerate().find_map(|(at, instruction)| {
            let target = instruction.jump_target(&self.function)?;
            let start = self.instructions.iter().position(|i| i.address == target)?;
            (start <= at).then_some(start..=at)
        })
    }

    /// Whether the loop touches memory each time round (`None`: there is no loop).
    pub fn loop_reads_memory(&self) -> Option<bool> {
        let range = self.wait_loop()?;
        Some(self.instructions[range].iter().any(Instruction::touches_memory))
    }

    /// The last instruction before the loop that touches memory: the one load of what an
    /// optimised loop compares.
    pub fn load_before_loop(&self) -> Option<&Instruction> {
        let start = *self.wait_loop()?.start();
        self.instructions[..start].iter().rev().find(|i| i.touches_memory())
    }

    /// The listing as the lesson prints it: one instruction a line, `address: instruction`,
    /// the loop's lines marked with `>`.
    pub fn listing(&self) -> String {
        let the_loop = self.wait_loop();
        let mut text = String::new();
        for (at, instruction) in self.instructions.iter().enumerate() {
            let mark = if the_loop.as_ref().is_some_and(|r| r.contains(&at)) { '>' } else { ' ' };
            text.push_str(&format!("  {mark} {:x}: {}\n", instruction.address, instruction.text));
        }
        text
    }
}

/// A C program started by [`start`], until it is waited for. Dropping it kills and reaps the
/// program and the processes it forked.
#[derive(Debug)]
pub struct Running {
    child: Option<process::Child>,
}

/// Forks a child that first makes the program's segment, `shmget(key, size,
/// IPC_CREAT|IPC_EXCL|0600)` (recorded and printed with `note`), and then becomes `program`
/// (`execv` with `args`), whose own `shmget(key, size, IPC_CREAT|...)` opens it. The segment is
/// written down under the pid the program runs as, so that a lesson killed at any point leaves
/// nothing: the program dies with it (`PR_SET_PDEATHSIG`), and the next run's sweep removes
/// the segment of the dead pid (see [`shm_workbook::registry`]). This process also becomes the
/// child subreaper of what the program forks (see the module's introduction).
pub fn start(
    program: &Program,
    args: &[&str],
    (key, size): (Key, usize),
    note: &str,
) -> Result<Running> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag; no memory is passed.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
    let text = |what: &Path| CString::new(what.as_os_str().as_bytes()).ok();
    let path = text(program.binary())
        .ok_or_else(|| Error::other("starting the C program", "its path has a NUL byte"))?;
    let mut argv = vec![path.clone()];
    for arg in args {
        argv.push(
            text(Path::new(arg)).ok_or_else(|| {
                Error::other("starting the C program", "an argument has a NUL byte")
            })?,
        );
    }
    let child = process::spawn("C program", move |out| {
        let segment = Segment::create(key, size, 0o600)?;
        out.call_note(note);
        // Kept, not removed: the program (this very process, after exec) uses it, and the run
        // file of this pid lists it until the pid is dead and swept.
        std::mem::forget(segment);
        // Signals held by the parent (with_signals_held) stay held across exec: let them in.
        let all = nix::sys::signal::SigSet::empty();
        let _ = nix::sys::signal::sigprocmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&all),
            None,
        );
        let errno = nix::unistd::execv(&path, &argv).unwrap_err();
        Err(Error::sys(format!("execv({path:?}, ...)"), errno))
    })?;
    Ok(Running { child: Some(child) })
}

impl Running {
    fn child(&self) -> &process::Child {
        self.child.as_ref().expect("a Running holds its child until it is waited for")
    }

    /// The program's pid.
    pub fn pid(&self) -> Pid {
        self.child().pid()
    }

    /// The processes the program has forked that are still its children, from `/proc`.
    pub fn children(&self) -> Vec<Pid> {
        children_of(self.pid())
    }

    /// Whether the program has ended (it is not reaped: [`wait`](Self::wait) does that).
    pub fn has_ended(&self) -> bool {
        Partner::Child(self.pid()).has_died()
    }

    /// Waits (up to `timeout`) until the program has attached its segment with `key` (so it
    /// runs), then takes over the segment's removal ([`Segment::adopt`]): the lesson removes
    /// it, on Ctrl-C too, since the program itself will not. Call it with signals held from
    /// before [`start`] (see [`cleanup::with_signals_held`]), so that no Ctrl-C falls between.
    pub fn adopt_segment(&self, key: Key, timeout: Duration) -> Result<Segment> {
        let attached = || attachments(key).is_some_and(|nattch| nattch > 0);
        if !self.wait_until(timeout, attached) {
            let how =
                if self.has_ended() { "ended".to_owned() } else { format!("ran {timeout:?}") };
            return Err(Error::other(
                "waiting for the C program to attach its segment",
                format!(
                    "it {how} without attaching the segment with key {key}; its own message is \
                     above"
                ),
            ));
        }
        Segment::adopt(key)
    }

    /// Waits until the program has ended, without reaping it (so that the processes it forked
    /// have become this process's children), then `waitpid(pid, &status, 0)` for one of them.
    pub fn reap_orphan(&self, pid: Pid) -> Result<Exit> {
        self.wait_until(Duration::MAX, || false);
        reap(pid)
    }

    /// Polls `condition` every millisecond until it holds, the program ends, or `timeout`
    /// passes; returns whether it held.
    pub fn wait_until(&self, timeout: Duration, condition: impl Fn() -> bool) -> bool {
        let deadline = Instant::now().checked_add(timeout).unwrap_or_else(far_future);
        loop {
            if condition() {
                return true;
            }
            if self.has_ended() || Instant::now().checked_duration_since(deadline).is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Looks (`look`) every `window` until two looks in a row agree, the program ends, or five
    /// windows have passed. Returns the last look, how long it has been the same, and whether
    /// it was (false: it was still changing, or the program ended).
    pub fn until_unchanged<T: PartialEq>(
        &self,
        window: Duration,
        look: impl Fn() -> T,
    ) -> (T, Duration, bool) {
        let (mut before, mut since) = (look(), Instant::now());
        for _ in 0..5 {
            std::thread::sleep(window);
            let now = look();
            if self.has_ended() {
                return (now, since.elapsed(), false);
            }
            if now == before {
                return (now, since.elapsed(), true);
            }
            (before, since) = (now, Instant::now());
        }
        (before, since.elapsed(), false)
    }

    /// `kill(pid, signal)` to the program.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        self.child().signal(signal)
    }

    /// `waitpid(pid, &status, 0)`: waits for the program to end, however it does.
    pub fn wait(mut self) -> Result<Exit> {
        let child = self.child.take().expect("waited for once");
        child.wait_exit()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some(child) = self.child.take() else { return };
        let orphans = children_of(child.pid());
        for pid in &orphans {
            let _ = nix::sys::signal::kill(*pid, Signal::SIGKILL);
        }
        let _ = child.signal(Signal::SIGKILL);
        drop(child); // reaps it (after a SIGTERM that changes nothing now)
        for pid in orphans {
            let _ = waitpid(pid, None); // ours once the program died: see `start`
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// `nattch` of the segment with `key` in `/proc/sysvipc/shm`, if one exists.
fn attachments(key: Key) -> Option<u64> {
    procfs::IpcTable::Shm.row_with_key(key.raw()).ok()??.number("nattch")
}

fn children_of(parent: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut children: Vec<Pid> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            procfs::process_stat(pid).and_then(|stat| stat.ppid()) == Some(parent.as_raw())
        })
        .map(Pid::from_raw)
        .collect();
    children.sort();
    children
}

/// `kill(pid, signal)`, recorded, for any process of this user's (the program's child).
pub fn kill(pid: Pid, signal: Signal) -> Result<()> {
    let result = nix::sys::signal::kill(pid, signal);
    let made = call::make("kill").arg(pid).arg(signal.as_str()).ended(result.map(|()| 0));
    result.map_err(|_| made.error())
}

/// `waitpid(pid, &status, 0)`, recorded, until `pid` has ended: for a process that came to this
/// one as an orphan (see [`start`]).
pub fn reap(pid: Pid) -> Result<Exit> {
    loop {
        let result = waitpid(pid, None);
        let made = call::make("waitpid").arg(pid).arg("&status").arg(0);
        match result {
            Ok(WaitStatus::Exited(_, code)) => {
                made.returned(pid);
                return Ok(Exit::Code(code));
            }
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                made.returned(pid);
                return Ok(Exit::Signal(signal));
            }
            Ok(_) => {
                made.returned(pid);
            }
            Err(Errno::EINTR) => {
                made.failed(Errno::EINTR);
            }
            Err(errno) => return Err(made.failed(errno).error()),
        }
    }
}

/// How a process ended, as a sentence: `killed by SIGINT`, `exited with status 0`.
pub fn ended(exit: Exit) -> String {
    match exit {
        Exit::Code(code) => format!("exited with status {code}"),
        Exit::Signal(signal) => format!("killed by {signal}"),
    }
}

/// A process as the kernel shows it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessState {
    /// `R` running (or ready to run), `S` sleeping, `Z` a zombie, ... (`man 5 proc`).
    pub state: char,
    /// The CPU time it has used, user and system.
    pub cpu: Duration,
}

impl std::fmt::Display for ProcessState {
    /// `state R, 0.48 s of CPU so far`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "state {}, {:.2} s of CPU so far", self.state, self.cpu.as_secs_f64())
    }
}

/// The state and CPU time of `pid`, from `/proc/<pid>/stat`; `None` if it is gone.
pub fn process_state(pid: Pid) -> Option<ProcessState> {
    let stat = procfs::process_stat(pid.as_raw())?;
    let ticks = stat.cpu_ticks()?;
    let cpu = Duration::from_millis(ticks * 1000 / procfs::clock_ticks_per_second());
    Some(ProcessState { state: stat.state(), cpu })
}

/// A segment that outlived its creator: yours, nobody attached, its creator gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    /// Its id.
    pub shmid: i32,
    /// Its key.
    pub key: Key,
    /// Its size in bytes.
    pub size: u64,
    /// The pid that created it, which no longer runs.
    pub cpid: i32,
}

impl std::fmt::Display for Leftover {
    /// `shmid 42, key 0x4100e5f9, 104 bytes, created by pid 4567 (gone)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "shmid {}, key {}, {} bytes, created by pid {} (gone)",
            self.shmid,
            self.key.hex(),
            self.size,
            self.cpid
        )
    }
}

/// The C program's flag and message, loaded from outside (byte loads: no C `int` in Rust).
pub fn look(watch: &Region<ReadOnly>) -> (i32, String) {
    let flag = i32::from_ne_bytes(watch.load(0, 4).try_into().unwrap_or([0; 4]));
    (flag, watch.load_c_string(4))
}

/// Each C process's state and CPU time, from `/proc/<pid>/stat`, one line each.
pub fn show_states<const N: usize>(out: &Narrator, processes: [(&str, Option<Pid>); N]) {
    for (who, pid) in processes {
        if let Some((pid, state)) = pid.and_then(|pid| Some((pid, process_state(pid)?))) {
            out.line().text(format!("the C {who}, pid {pid}: ")).value(state).print();
        }
    }
}

/// `segment`'s row in `/proc/sysvipc/shm` (what `ipcs -m -p` prints), how to find such a
/// leftover, and the candidates [`leftovers`] finds: this run's, then a count of the others.
pub fn show_leftovers(out: &Narrator, segment: &Segment) -> Result<()> {
    let columns = ["shmid", "perms", "size", "cpid", "nattch", "uid"];
    let rows = procfs::sysvipc_columns(&[segment.id()], &columns)?;
    print_block(rows.iter().map(|row| format!("    {row}\n")).collect::<String>());
    out.explain(
        "to find such leftovers: ipcs -m -p shows each segment's creator (cpid); a cpid that ps -p \
         no longer finds, with nattch 0, marks one",
    );
    let (ours, others): (Vec<_>, Vec<_>) =
        leftovers().into_iter().partition(|left| left.shmid == segment.id());
    for left in ours {
        out.line().text("leftover: ").value(left).note("the C program's").print();
    }
    if !others.is_empty() {
        out.explain(format!(
            "and {} more of yours, not this run's: left alone (`ipcs -m -p` lists them; `ipcrm -m \
             <shmid>` removes one you know is garbage)",
            others.len()
        ));
    }
    Ok(())
}

/// The segments in `/proc/sysvipc/shm` (what `ipcs -m -p` reads) that belong to this user,
/// have no attachment and whose creator no longer runs: what a killed program leaves. Only a
/// candidate list: a pid may have been reused, and a segment may be kept on purpose.
pub fn leftovers() -> Vec<Leftover> {
    leftovers_in(&std::fs::read_to_string("/proc/sysvipc/shm").unwrap_or_default())
}

fn leftovers_in(table: &str) -> Vec<Leftover> {
    let me = nix::unistd::geteuid().as_raw();
    let unused = |row: &procfs::IpcRow| {
        row.number("uid") == Some(me) && row.number::<u64>("nattch") == Some(0)
    };
    procfs::ipc_rows_in(table)
        .iter()
        .filter(|row| unused(row))
        .filter_map(|row| {
            let creator = Pid::from_raw(row.number("cpid")?);
            if !Partner::Other(creator).has_died() {
                return None;
            }
            Some(Leftover {
                shmid: row.number("shmid")?,
                key: Key::from_raw(row.number("key")?),
                size: row.number("size")?,
                cpid: creator.as_raw(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const O2: &str = "\nflag:     file format elf64-x86-64\n\n\nDisassembly of section \
                      .text:\n\n0000000000001430 <wait_while>:\n    1430:\tmov    (%rdi),%eax\n    \
                      1432:\tnopw   0x0(%rax,%rax,1)\n    1438:\tcmp    %esi,%eax\n    \
                      143a:\tje     1438 <wait_while+0x8>\n    143c:\tret\n\nDisassembly of \
                      section .fini:\n";
    const O0: &str = "0000000000001249 <wait_while>:\n    1249:\tpush   %rbp\n    1255:\tmov    \
                      -0x8(%rbp),%rax\n    1259:\tmov    (%rax),%eax\n    125b:\tcmp    \
                      %eax,-0xc(%rbp)\n    125e:\tje     1255 <wait_while+0xc>\n    1262:\tpop    \
                      %rbp\n    1263:\tret\n";

    #[test]
    fn the_loop_of_an_optimised_wait_loads_nothing() {
        let d = Disassembly::parse(O2, "wait_while").unwrap();
        assert_eq!(d.instructions().len(), 5);
        assert_eq!(d.instructions()[0].text, "mov (%rdi),%eax");
        let range = d.wait_loop().unwrap();
        assert_eq!(range, 2..=3);
        assert!(!d.instructions()[range].iter().any(Instruction::touches_memory));
        assert_eq!(d.loop_reads_memory(), Some(false));
        assert_eq!(d.load_before_loop().unwrap().address, 0x1430, "the one load, before the loop");
        assert!(d.listing().contains("  > 143a: je 1438 <wait_while+0x8>\n"), "{}", d.listing());
        assert!(d.listing().starts_with("    1430: mov (%rdi),%eax\n"), "{}", d.listing());
        let d = Disassembly::parse(O0, "wait_while").unwrap();
        let range = d.wait_loop().unwrap();
        assert_eq!(range, 1..=4);
        assert!(d.instructions()[range].iter().any(Instruction::touches_memory));
        assert_eq!(d.loop_reads_memory(), Some(true));
        assert!(Disassembly::parse(O2, "main").is_none());
    }

    #[test]
    fn a_segment_whose_creator_is_gone_is_a_leftover_only_if_nobody_uses_it() {
        let me = nix::unistd::geteuid().as_raw();
        let alive = std::process::id();
        let table = format!(
            "key shmid perms size cpid lpid nattch uid gid\n\
             4660 7 600 104 2147483000 0 0 {me} 0\n\
             4661 8 600 104 2147483000 0 1 {me} 0\n\
             4662 9 600 104 {alive} 0 0 {me} 0\n\
             4663 10 600 104 2147483000 0 0 {} 0\n",
            me + 1
        );
        let found = leftovers_in(&table);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].shmid, found[0].key.raw(), found[0].cpid), (7, 4660, 2147483000));
    }
}
