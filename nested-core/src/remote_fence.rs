//! Remote HFENCEs between the harts of one L1 (SBI RFENCE functions 3 to 6).
//!
//! Each hart has a [`FenceMailbox`]. A hart that handles L1's remote HFENCE posts the fence
//! to every other target's mailbox and gets a [`FenceTicket`]; it returns to L1 only when
//! every ticket [`is done`](FenceMailbox::is_done): when that hart has applied the fence or
//! is not running L2 (it drains its mailbox before it next does). A hart running L2 when a
//! fence arrives must be made to exit (the host's IPI: [`FenceMailbox::post`] says when).
//!
//! The handshake: the target marks itself in the guest *before* draining; the sender posts
//! *before* looking at that mark. With both in one total order (SeqCst), a sender that sees
//! the mark clear knows the target's next drain will see its fence. A full mailbox never
//! drops a fence: it escalates to flushing every shadow of that hart.

use crate::sync::{AtomicBool, AtomicU64, Mutex, Ordering};
use heapless::Vec;

/// A fence a hart applies to its shadow G-stages before it next runs L2. VMIDs and ASIDs are
/// L1's; a range is `(start, size)` in bytes, `None` for everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteFence {
    /// HFENCE.GVMA for L1's VMID (`None`: every VMID) over guest-physical `range`.
    Gvma {
        /// L1's VMID, or every VMID.
        vmid: Option<u16>,
        /// Guest-physical bytes, or all.
        range: Option<(u64, u64)>,
    },
    /// HFENCE.VVMA for L1's VMID and `asid` (`None`: every ASID) over guest-virtual `range`.
    Vvma {
        /// L1's VMID.
        vmid: u16,
        /// The ASID, or every ASID.
        asid: Option<u16>,
        /// Guest-virtual bytes, or all.
        range: Option<(u64, u64)>,
    },
}

/// What a hart must apply before running L2: the fences posted to it, or everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drained<const N: usize> {
    /// These fences, in the order posted.
    Fences(Vec<RemoteFence, N>),
    /// More were posted than the mailbox holds: flush every shadow context of the hart.
    Everything,
}

/// A fence posted to one hart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FenceTicket {
    sequence: u64,
}

struct Pending<const N: usize> {
    fences: Vec<RemoteFence, N>,
    overflowed: bool,
}

/// The remote-fence mailbox of one hart: up to `N` fences before it escalates.
pub struct FenceMailbox<const N: usize> {
    pending: Mutex<Pending<N>>,
    /// Set while the hart runs L2, from just before it drains the mailbox to just after L2
    /// exits.
    in_guest: AtomicBool,
    /// How many fences were posted, and how many the hart has applied.
    posted: AtomicU64,
    applied: AtomicU64,
}

impl<const N: usize> Default for FenceMailbox<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FenceMailbox<N> {
    /// An empty mailbox of a hart not running L2.
    pub fn new() -> Self {
        Self {
            pending: Mutex::new(Pending {
                fences: Vec::new(),
                overflowed: false,
            }),
            in_guest: AtomicBool::new(false),
            posted: AtomicU64::new(0),
            applied: AtomicU64::new(0),
        }
    }

    /// Posts `fence` (sender side). Returns its ticket, and whether the hart runs L2 now and
    /// must be made to exit (an IPI) for the fence to complete.
    pub fn post(&self, fence: RemoteFence) -> (FenceTicket, bool) {
        let sequence = {
            let mut pending = self.pending.lock();
            if pending.fences.push(fence).is_err() {
                pending.fences.clear();
                pending.overflowed = true;
            }
            self.posted.fetch_add(1, Ordering::SeqCst).wrapping_add(1)
        };
        (
            FenceTicket { sequence },
            self.in_guest.load(Ordering::SeqCst),
        )
    }

    /// Whether the hart can no longer use what `ticket`'s fence removes: it applied it, or
    /// it is not running L2 (and drains before it does).
    pub fn is_done(&self, ticket: FenceTicket) -> bool {
        self.applied.load(Ordering::SeqCst) >= ticket.sequence
            || !self.in_guest.load(Ordering::SeqCst)
    }

    /// The hart is about to run L2 (receiver side): marks it, then takes what it must apply
    /// first. Call [`FenceMailbox::applied`] with the result once applied.
    pub fn enter_guest(&self) -> (Drained<N>, u64) {
        self.in_guest.store(true, Ordering::SeqCst);
        let mut pending = self.pending.lock();
        let upto = self.posted.load(Ordering::SeqCst);
        let drained = if pending.overflowed {
            pending.overflowed = false;
            pending.fences.clear();
            Drained::Everything
        } else {
            Drained::Fences(core::mem::take(&mut pending.fences))
        };
        (drained, upto)
    }

    /// The hart applied everything drained up to `upto`.
    pub fn applied(&self, upto: u64) {
        self.applied.fetch_max(upto, Ordering::SeqCst);
    }

    /// L2 exited on this hart.
    pub fn exit_guest(&self) {
        self.in_guest.store(false, Ordering::SeqCst);
    }
}

/// The remote fences one SBI call posted, until every target has applied them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingFences {
    tickets: Vec<(u32, FenceTicket), 64>,
}

impl PendingFences {
    /// Whether no target can still use what the fences remove (`mailboxes` by hart number).
    /// The host completes the parked SBI call with success once this holds.
    pub fn is_done<const N: usize>(&self, mailboxes: &[FenceMailbox<N>]) -> bool {
        self.tickets.iter().all(|&(hart, ticket)| {
            // A hart without a mailbox runs no L2 of this L1.
            mailboxes
                .get(hart as usize)
                .is_none_or(|mailbox| mailbox.is_done(ticket))
        })
    }
}

/// What the remote HFENCE functions of SBI RFENCE need from the host's per-hart SBI context,
/// beyond the calling hart's engine.
pub trait RfenceContext<const CONTEXTS: usize, const M: usize, const GEILEN: usize = 0>:
    crate::nacl::NestedContext<CONTEXTS, GEILEN>
{
    /// The calling hart's number (as L1 numbers its harts).
    fn hart_id(&self) -> u32;
    /// Every hart's mailbox, by hart number.
    fn mailboxes(&self) -> &[FenceMailbox<M>];
    /// Makes `hart`, which runs L2, exit it now (an IPI), so that it applies its mailbox.
    fn kick(&mut self, hart: u32);
    /// Parks the SBI call until `pending` is done; the host then returns success to L1.
    fn park(&mut self, pending: PendingFences);
}

/// The remote HFENCE functions of SBI RFENCE for an L1: plug it in with
/// `Dispatcher::with_remote_hfence`. The calling hart fences at once; every other target gets
/// the fence in its mailbox (and an IPI if it runs L2); the call completes when none of them
/// can still use a stale shadow entry. VMIDs are L1's; VVMA fences apply to the VMID in the
/// calling hart's virtual hgatp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemoteHfenceProvider<const CONTEXTS: usize, const M: usize, const GEILEN: usize = 0>;

impl<const N: usize, const M: usize, const G: usize> RemoteHfenceProvider<N, M, G> {
    fn fence<C: RfenceContext<N, M, G>>(
        ctx: &mut C,
        harts: sbi_dispatch::HartMask,
        fence: RemoteFence,
    ) -> sbi_dispatch::Outcome {
        let me = ctx.hart_id();
        let mut pending = PendingFences::default();
        let mut kicks: Vec<u32, 64> = Vec::new();
        for hart in harts.iter() {
            if hart == me {
                continue;
            }
            if let Some(mailbox) = ctx.mailboxes().get(hart as usize) {
                let (ticket, kick) = mailbox.post(fence);
                // More than 64 targets in one call cannot happen: a hart mask names at most
                // 64 harts, or every hart of a platform the host sized its mailboxes for.
                let _ = pending.tickets.push((hart, ticket));
                if kick {
                    let _ = kicks.push(hart);
                }
            }
        }
        if harts.contains(me) {
            let (nested, host, _) = ctx.nested();
            let crate::host::HostParts { pool, hart, .. } = crate::host::Host::parts(host);
            nested.apply_fence(fence, pool, hart);
        }
        for hart in kicks {
            ctx.kick(hart);
        }
        if pending.is_done(ctx.mailboxes()) {
            sbi_dispatch::Outcome::Return(Ok(0))
        } else {
            ctx.park(pending);
            sbi_dispatch::Outcome::Deferred
        }
    }

    /// The range of an RFENCE call as a fence range.
    fn bytes(range: sbi_dispatch::FenceRange) -> Option<(u64, u64)> {
        match range {
            sbi_dispatch::FenceRange::All => None,
            sbi_dispatch::FenceRange::Range { start, size } => Some((start, size)),
        }
    }

    /// L1's current VMID on the calling hart (VVMA fences apply to it).
    fn current_vmid<C: RfenceContext<N, M, G>>(ctx: &mut C) -> u16 {
        ctx.nested().0.current_context().vmid
    }
}

impl<C: RfenceContext<N, M, G>, const N: usize, const M: usize, const G: usize>
    sbi_dispatch::RemoteHfence<C> for RemoteHfenceProvider<N, M, G>
{
    fn remote_hfence_gvma_vmid(
        &mut self,
        ctx: &mut C,
        harts: sbi_dispatch::HartMask,
        range: sbi_dispatch::FenceRange,
        vmid: u16,
    ) -> sbi_dispatch::Outcome {
        Self::fence(
            ctx,
            harts,
            RemoteFence::Gvma {
                vmid: Some(vmid),
                range: Self::bytes(range),
            },
        )
    }

    fn remote_hfence_gvma(
        &mut self,
        ctx: &mut C,
        harts: sbi_dispatch::HartMask,
        range: sbi_dispatch::FenceRange,
    ) -> sbi_dispatch::Outcome {
        Self::fence(
            ctx,
            harts,
            RemoteFence::Gvma {
                vmid: None,
                range: Self::bytes(range),
            },
        )
    }

    fn remote_hfence_vvma_asid(
        &mut self,
        ctx: &mut C,
        harts: sbi_dispatch::HartMask,
        range: sbi_dispatch::FenceRange,
        asid: u16,
    ) -> sbi_dispatch::Outcome {
        let vmid = Self::current_vmid(ctx);
        Self::fence(
            ctx,
            harts,
            RemoteFence::Vvma {
                vmid,
                asid: Some(asid),
                range: Self::bytes(range),
            },
        )
    }

    fn remote_hfence_vvma(
        &mut self,
        ctx: &mut C,
        harts: sbi_dispatch::HartMask,
        range: sbi_dispatch::FenceRange,
    ) -> sbi_dispatch::Outcome {
        let vmid = Self::current_vmid(ctx);
        Self::fence(
            ctx,
            harts,
            RemoteFence::Vvma {
                vmid,
                asid: None,
                range: Self::bytes(range),
            },
        )
    }
}
