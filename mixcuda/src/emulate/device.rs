//! Test-only: a [`Backend`] on the host emulator, so the public API (plans, buffers, the
//! chunked host pipeline, the streaming mixer) runs end to end without a GPU.
//!
//! It is deliberately lazy: queued work runs only when something forces it (a synchronisation,
//! an event wait, a synchronous copy), and a queue waiting on an event runs the other queue only
//! up to that event. So a launch issued without waiting for its upload reads stale memory, a
//! pinned buffer rewritten before its upload ran uploads the new bytes, and a buffer freed
//! before its queued work ran fails: ordering bugs the tests would otherwise miss.

use std::any::Any;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Emu;
use crate::backend::{Backend, DeviceMem, Event, PinnedMem, Queue, check_range};
use crate::error::{Error, Result};
use crate::launch::Launch;

fn broken(what: &'static str) -> Error {
    Error::Mismatch { what }
}

enum Op {
    Upload {
        dst: usize,
        offset: usize,
        /// Where the pinned bytes are read when the op runs (not when it is queued).
        src: *const u8,
        len: usize,
    },
    Copy {
        dst: usize,
        src: usize,
        bytes: usize,
    },
    Launch(Launch),
    /// Run the other queue until it has executed `pos` ops.
    Wait {
        queue: usize,
        pos: u64,
    },
}

// SAFETY: the raw source pointer of `Upload` is only read while the backend's mutex is held,
// under the backend contract that the pinned memory stays alive and unmodified until then.
unsafe impl Send for Op {}

#[derive(Default)]
struct State {
    /// Allocations by id; `None` once freed.
    buffers: Vec<Option<Vec<u8>>>,
    queues: [VecDeque<Op>; 2],
    issued: [u64; 2],
    executed: [u64; 2],
    launches: u64,
}

fn qi(q: Queue) -> usize {
    match q {
        Queue::Compute => 0,
        Queue::Copy => 1,
    }
}

impl State {
    fn buffer(&mut self, id: usize) -> Result<&mut Vec<u8>> {
        self.buffers
            .get_mut(id)
            .and_then(Option::as_mut)
            .ok_or(broken("queued work used a freed buffer"))
    }

    fn push(&mut self, q: usize, op: Op) {
        self.queues[q].push_back(op);
        self.issued[q] += 1;
    }

    /// Runs queue `q` until it has executed `pos` ops.
    fn run(&mut self, q: usize, pos: u64) -> Result<()> {
        while self.executed[q] < pos {
            let Some(op) = self.queues[q].pop_front() else {
                break;
            };
            self.executed[q] += 1;
            self.execute(op)?;
        }
        Ok(())
    }

    fn run_all(&mut self) -> Result<()> {
        self.run(0, self.issued[0])?;
        self.run(1, self.issued[1])
    }

    fn execute(&mut self, op: Op) -> Result<()> {
        match op {
            Op::Upload {
                dst,
                offset,
                src,
                len,
            } => {
                // SAFETY: see `unsafe impl Send for Op`: the caller of `upload_async` keeps the
                // `len` bytes at `src` alive until the queue has run this op.
                let bytes = unsafe { std::slice::from_raw_parts(src, len) }.to_vec();
                self.buffer(dst)?[offset..offset + len].copy_from_slice(&bytes);
            }
            Op::Copy { dst, src, bytes } => {
                let data = self.buffer(src)?[..bytes].to_vec();
                self.buffer(dst)?[..bytes].copy_from_slice(&data);
            }
            Op::Wait { queue, pos } => self.run(queue, pos)?,
            Op::Launch(launch) => {
                // Ship every allocation with its id (freed ones empty, so a stale pointer into
                // one fails the emulator's range check), run, take the results back.
                let mut emu = Emu::default();
                for b in &self.buffers {
                    emu.buffer(b.clone().unwrap_or_default());
                }
                emu.launch(launch);
                self.launches += 1;
                let Some(out) = emu.run("emulated device") else {
                    return Err(broken("kernel emulator unavailable"));
                };
                for (id, b) in self.buffers.iter_mut().enumerate() {
                    if let Some(b) = b {
                        b.copy_from_slice(out.bytes(super::address(id)));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The emulated device.
#[derive(Default)]
pub(crate) struct EmuBackend {
    state: Arc<Mutex<State>>,
}

impl EmuBackend {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Kernel launches executed so far.
    pub(crate) fn launches(&self) -> u64 {
        self.lock().launches
    }

    /// Ops queued but not yet run.
    pub(crate) fn pending(&self) -> usize {
        let s = self.lock();
        s.queues[0].len() + s.queues[1].len()
    }
}

struct EmuMem {
    id: usize,
    len: usize,
    state: Arc<Mutex<State>>,
}

impl Drop for EmuMem {
    fn drop(&mut self) {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(b) = s.buffers.get_mut(self.id) {
            *b = None;
        }
    }
}

impl DeviceMem for EmuMem {
    fn addr(&self) -> u64 {
        super::address(self.id)
    }
    fn len(&self) -> usize {
        self.len
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

struct EmuPinned(Box<[u8]>);

impl PinnedMem for EmuPinned {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

struct EmuEvent {
    queue: usize,
    pos: u64,
}

impl Event for EmuEvent {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

fn id_of(m: &dyn DeviceMem) -> usize {
    (m.addr() >> 40) as usize - 1
}

fn emu_event(e: &dyn Event) -> Result<&EmuEvent> {
    e.as_any()
        .downcast_ref::<EmuEvent>()
        .ok_or(broken("foreign event"))
}

impl Backend for EmuBackend {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn device_name(&self) -> Result<String> {
        Ok("host emulator".into())
    }

    fn alloc(&self, bytes: usize) -> Result<Box<dyn DeviceMem>> {
        let mut s = self.lock();
        s.buffers.push(Some(vec![0; bytes.max(1)]));
        Ok(Box::new(EmuMem {
            id: s.buffers.len() - 1,
            len: bytes.max(1),
            state: Arc::clone(&self.state),
        }))
    }

    fn alloc_pinned(&self, bytes: usize) -> Result<Box<dyn PinnedMem>> {
        Ok(Box::new(EmuPinned(
            vec![0; bytes.max(1)].into_boxed_slice(),
        )))
    }

    fn upload(&self, dst: &dyn DeviceMem, offset: usize, src: &[u8]) -> Result<()> {
        let r = check_range(offset, src.len(), dst.len())?;
        let mut s = self.lock();
        s.run_all()?;
        s.buffer(id_of(dst))?[r].copy_from_slice(src);
        Ok(())
    }

    fn download(&self, src: &dyn DeviceMem, offset: usize, dst: &mut [u8]) -> Result<()> {
        let r = check_range(offset, dst.len(), src.len())?;
        let mut s = self.lock();
        s.run_all()?;
        dst.copy_from_slice(&s.buffer(id_of(src))?[r]);
        Ok(())
    }

    unsafe fn upload_async(
        &self,
        queue: Queue,
        dst: &dyn DeviceMem,
        offset: usize,
        src: &dyn PinnedMem,
        range: Range<usize>,
    ) -> Result<()> {
        let len = src.bytes().len();
        let bytes = src
            .bytes()
            .get(range.clone())
            .ok_or(Error::DeviceBufferTooSmall {
                len,
                needed: range.end,
            })?;
        check_range(offset, bytes.len(), dst.len())?;
        self.lock().push(
            qi(queue),
            Op::Upload {
                dst: id_of(dst),
                offset,
                src: bytes.as_ptr(),
                len: bytes.len(),
            },
        );
        Ok(())
    }

    unsafe fn copy_async(
        &self,
        queue: Queue,
        dst: &dyn DeviceMem,
        src: &dyn DeviceMem,
        bytes: usize,
    ) -> Result<()> {
        check_range(0, bytes, dst.len())?;
        check_range(0, bytes, src.len())?;
        self.lock().push(
            qi(queue),
            Op::Copy {
                dst: id_of(dst),
                src: id_of(src),
                bytes,
            },
        );
        Ok(())
    }

    unsafe fn launch(&self, queue: Queue, launch: &Launch) -> Result<()> {
        self.lock().push(qi(queue), Op::Launch(launch.clone()));
        Ok(())
    }

    fn record(&self, queue: Queue, _timing: bool) -> Result<Box<dyn Event>> {
        let s = self.lock();
        Ok(Box::new(EmuEvent {
            queue: qi(queue),
            pos: s.issued[qi(queue)],
        }))
    }

    fn wait(&self, queue: Queue, event: Box<dyn Event>) -> Result<()> {
        let e = emu_event(&*event)?;
        let op = Op::Wait {
            queue: e.queue,
            pos: e.pos,
        };
        self.lock().push(qi(queue), op);
        Ok(())
    }

    fn event_synchronize(&self, event: &dyn Event) -> Result<()> {
        let e = emu_event(event)?;
        self.lock().run(e.queue, e.pos)
    }

    fn elapsed_ms(&self, start: &dyn Event, end: &dyn Event) -> Result<f32> {
        emu_event(start)?;
        emu_event(end)?;
        Ok(0.0)
    }

    fn synchronize(&self, queue: Queue) -> Result<()> {
        let mut s = self.lock();
        let q = qi(queue);
        let pos = s.issued[q];
        s.run(q, pos)
    }
}
