//! loom models of the HFENCE pending-bit protocol between an L1 hart and L0.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p nacl-shmem --test loom`.
//! Shared memory words are loom atomics: a plain word access is a relaxed access, the
//! `_acquire` / `_release` forms of `WordAccess` are acquire / release. Only the first
//! `MODELED` HFENCE entries are modeled; the others read as a fixed value, so that loom
//! explores the interleavings that matter and not 60 idle entries.
//!
//! A limit of loom 0.7 found while checking these models: once a thread has read a word, loom
//! no longer lets another thread see that thread's later relaxed stores out of order. The
//! consumer reads each Config word before writing it, so the models that run `Consumer` itself
//! would not notice a missing release; the word-by-word models below (fields first, with and
//! without the release) are there to show what the release buys.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use loom::thread;
use nacl_shmem::hfence::{Fence, HfenceEntry, HfenceRequest, PageRange};
use nacl_shmem::layout::{HFENCE_OFFSET, hfence_entry_offset};
use nacl_shmem::provider::{HfenceTarget, TakenHfence};
use nacl_shmem::{AccessError, Consumer, Provider, WordAccess, Xlen};
use std::sync::Mutex;

const MODELED: usize = 2;
const PENDING: u64 = 1 << 63;

#[derive(Clone)]
struct LoomShmem {
    /// The four words of each modeled entry.
    words: Arc<Vec<AtomicU64>>,
    /// The config word every other entry reads as.
    others: u64,
}

impl LoomShmem {
    fn new(others: u64) -> Self {
        LoomShmem {
            words: Arc::new((0..4 * MODELED).map(|_| AtomicU64::new(0)).collect()),
            others,
        }
    }

    fn word(&self, offset: usize) -> Option<&AtomicU64> {
        offset
            .checked_sub(HFENCE_OFFSET)
            .and_then(|o| self.words.get(o / 8))
    }

    fn access(&self, offset: usize, order: Ordering) -> u64 {
        match self.word(offset) {
            Some(word) => word.load(order),
            None if offset
                .checked_sub(HFENCE_OFFSET)
                .is_some_and(|o| o.is_multiple_of(32)) =>
            {
                self.others
            }
            None => 0,
        }
    }
}

impl WordAccess for LoomShmem {
    fn xlen(&self) -> Xlen {
        Xlen::Rv64
    }
    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        Ok(self.access(offset, Ordering::Relaxed))
    }
    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        if let Some(word) = self.word(offset) {
            word.store(value, Ordering::Relaxed);
        }
        Ok(())
    }
    fn read_word_acquire(&self, offset: usize) -> Result<u64, AccessError> {
        Ok(self.access(offset, Ordering::Acquire))
    }
    fn write_word_release(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        if let Some(word) = self.word(offset) {
            word.store(value, Ordering::Release);
        }
        Ok(())
    }
}

fn gvma(page_number: u64, page_count: u64) -> HfenceRequest {
    HfenceRequest::Gvma {
        range: PageRange::new(0, page_number, page_count).unwrap(),
    }
}

/// Drains the modeled entries into a list.
fn drain(mem: &LoomShmem, target: HfenceTarget) -> Vec<TakenHfence> {
    let mut taken = Vec::new();
    Provider::new(mem.clone())
        .sync_hfence(target, |t| taken.push(t))
        .unwrap();
    taken.retain(|t| t.index < MODELED);
    taken
}

fn builder() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder
}

/// Spec order (fields, then Config released; Config acquired): a provider that drains while
/// the consumer queues sees either no entry or the whole entry, never a torn one.
#[test]
fn spec_order_provider_never_yields_a_torn_entry_even_draining_concurrently() {
    builder().check(|| {
        let mem = LoomShmem::new(PENDING); // only the modeled entries are free
        let request = gvma(0x1234, 3);
        let l1 = {
            let mem = mem.clone();
            thread::spawn(move || Consumer::new(mem).queue_hfence(&request, || Ok(())))
        };
        let seen = drain(&mem, HfenceTarget::Entry(0));
        let index = l1.join().unwrap().unwrap();
        assert_eq!(index, 0);
        for taken in &seen {
            assert_eq!(
                taken.decoded.fence,
                Fence::Request(request),
                "torn entry {:x?}",
                taken.entry
            );
            assert_eq!(taken.decoded.malformation, None);
        }
        // What the concurrent drain missed, the next sync takes, whole.
        let later = drain(&mem, HfenceTarget::Entry(0));
        assert_eq!(seen.len() + later.len(), 1);
        assert!(
            later
                .iter()
                .all(|t| t.decoded.fence == Fence::Request(request))
        );
    });
}

/// Entry reuse: the consumer queues three fences into two entries while the provider drains;
/// each fence is either performed whole exactly once or refused with `Full` (the caller then
/// fences by other means), never lost and never mixed with another.
#[test]
fn reused_entries_are_never_mixed_and_no_fence_is_lost() {
    builder().check(|| {
        let mem = LoomShmem::new(PENDING);
        let requests = [gvma(1, 1), gvma(2, 2), gvma(3, 3)];
        let l1 = {
            let mem = mem.clone();
            thread::spawn(move || {
                let mut l1 = Consumer::new(mem);
                requests.map(|r| l1.queue_hfence(&r, || Ok(())).is_ok())
            })
        };
        let mut performed: Vec<Fence> = drain(&mem, HfenceTarget::All)
            .iter()
            .map(|t| t.decoded.fence)
            .collect();
        let queued = l1.join().unwrap();
        performed.extend(
            drain(&mem, HfenceTarget::All)
                .iter()
                .map(|t| t.decoded.fence),
        );
        let mut expected: Vec<Fence> = requests
            .iter()
            .zip(queued)
            .filter(|(_, ok)| *ok)
            .map(|(r, _)| Fence::Request(*r))
            .collect();
        // Entries are reused, so the order of performance is not the order of queueing:
        // compare as multisets, both sides sorted the same way.
        let by_text = |f: &Fence| format!("{f:?}");
        expected.sort_by_key(by_text);
        let mut sorted = performed.clone();
        sorted.sort_by_key(by_text);
        assert_eq!(sorted, expected, "performed {performed:?}");
    });
}

/// Runs `write` (an L1 writing the entry of `request` into entry 0 word by word) against a
/// concurrent drain of entry 0, in every execution loom explores, and returns the torn entries
/// the provider took, each with whether its fence still covers the request (a torn entry
/// whose count is still 0 is widened to the whole scope; one with a stale page number is not).
fn torn_entries_with(write: fn(&mut LoomShmem, HfenceEntry)) -> Vec<(String, bool)> {
    let torn = std::sync::Arc::new(Mutex::new(Vec::new()));
    let seen_by_model = torn.clone();
    builder().check(move || {
        let mem = LoomShmem::new(PENDING);
        let request = gvma(0x1234, 3);
        let entry = request.encode(Xlen::Rv64).unwrap();
        let l1 = {
            let mut mem = mem.clone();
            thread::spawn(move || write(&mut mem, entry))
        };
        let seen = drain(&mem, HfenceTarget::Entry(0));
        l1.join().unwrap();
        for taken in seen {
            if taken.decoded.fence != Fence::Request(request) {
                let covers = taken.decoded.fence.covers(&request);
                let text = format!("{:x?} -> {:?}", taken.entry, taken.decoded.fence);
                seen_by_model.lock().unwrap().push((text, covers));
            }
        }
    });
    torn.lock().unwrap().clone()
}

/// Linux's order: Config (pending) first, then Page_Number and Page_Count. A provider that
/// drains concurrently can see the pending bit before the fields: a torn entry, whose fence
/// may miss the range L1 asked for, and whose pending bit the provider then clears. loom
/// finds such an execution; this is why a provider drains only inside the caller's own sync
/// call.
#[test]
fn config_first_order_lets_a_concurrent_provider_see_a_torn_entry() {
    let torn = torn_entries_with(|mem, entry| {
        let base = hfence_entry_offset(Xlen::Rv64, 0);
        mem.write_word(base, entry.config).unwrap();
        mem.write_word(base + 8, entry.page_number).unwrap();
        mem.write_word(base + 24, entry.page_count).unwrap();
    });
    let missed: Vec<&String> = torn
        .iter()
        .filter(|(_, covers)| !covers)
        .map(|(text, _)| text)
        .collect();
    assert!(
        !missed.is_empty(),
        "loom found no torn entry that misses the fence: {torn:?}"
    );
    println!(
        "config-first order, concurrent drain: {} torn, {} miss the range, e.g. {}",
        torn.len(),
        missed.len(),
        missed[0]
    );
}

/// The spec's order without the release on Config: the fields may still be invisible when
/// the pending bit is, so the release that `Consumer::queue_hfence` uses is needed.
#[test]
fn fields_first_order_without_release_lets_a_concurrent_provider_see_a_torn_entry() {
    let torn = torn_entries_with(|mem, entry| {
        let base = hfence_entry_offset(Xlen::Rv64, 0);
        mem.write_word(base + 8, entry.page_number).unwrap();
        mem.write_word(base + 24, entry.page_count).unwrap();
        mem.write_word(base, entry.config).unwrap();
    });
    let missed: Vec<&String> = torn
        .iter()
        .filter(|(_, covers)| !covers)
        .map(|(text, _)| text)
        .collect();
    assert!(
        !missed.is_empty(),
        "loom found no torn entry that misses the fence: {torn:?}"
    );
    println!(
        "fields first, relaxed Config: {} torn, {} miss the range, e.g. {}",
        torn.len(),
        missed.len(),
        missed[0]
    );
}

/// The spec's order with the release on Config, written word by word as the consumer does:
/// never torn.
#[test]
fn fields_first_order_with_release_never_lets_a_provider_see_a_torn_entry() {
    let torn = torn_entries_with(|mem, entry| {
        let base = hfence_entry_offset(Xlen::Rv64, 0);
        mem.write_word(base + 8, entry.page_number).unwrap();
        mem.write_word(base + 16, entry.reserved).unwrap();
        mem.write_word(base + 24, entry.page_count).unwrap();
        mem.write_word_release(base, entry.config).unwrap();
    });
    assert!(torn.is_empty(), "{torn:?}");
}

/// Linux's order again, but L0 drains only when L1's hart makes its sync call (the ecall is
/// a release by L1 and an acquire by L0): every entry is whole.
#[test]
fn config_first_order_is_safe_when_the_provider_drains_only_inside_the_sync_call() {
    builder().check(|| {
        let mem = LoomShmem::new(PENDING);
        let ecall = Arc::new(AtomicBool::new(false));
        let request = gvma(0x1234, 3);
        let entry = request.encode(Xlen::Rv64).unwrap();
        let l1 = {
            let (mut mem, ecall) = (mem.clone(), ecall.clone());
            thread::spawn(move || {
                linux_order_write(&mut mem, entry.config, entry.page_number, entry.page_count);
                ecall.store(true, Ordering::Release); // sync_hfence(-1)
            })
        };
        while !ecall.load(Ordering::Acquire) {
            thread::yield_now();
        }
        let seen = drain(&mem, HfenceTarget::All);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].decoded.fence, Fence::Request(request));
        l1.join().unwrap();
    });
}

/// What Linux's `__kvm_riscv_nacl_hfence` does, word by word (plain stores).
fn linux_order_write(mem: &mut LoomShmem, config: u64, page_number: u64, page_count: u64) {
    let base = hfence_entry_offset(Xlen::Rv64, 0);
    mem.write_word(base, config).unwrap();
    mem.write_word(base + 8, page_number).unwrap();
    mem.write_word(base + 24, page_count).unwrap();
}
