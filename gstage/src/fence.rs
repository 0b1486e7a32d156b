//! The HFENCE.GVMA instructions the host must execute after a table change.
//!
//! Priv spec, hypervisor chapter, "Hypervisor Memory-Management Fence Instructions".

use heapless::Vec;

/// One HFENCE.GVMA: `None` operands are x0 (all VMIDs, all addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HfenceGvma {
    /// The VMID (rs2), or every VMID.
    pub vmid: Option<u16>,
    /// A guest physical address inside the changed leaf (rs1 holds it shifted right by 2),
    /// or every address.
    pub gpa: Option<u64>,
}

impl HfenceGvma {
    /// Whether this fence also orders what `other` orders.
    pub const fn covers(self, other: HfenceGvma) -> bool {
        let vmid = match (self.vmid, other.vmid) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        let gpa = match (self.gpa, other.gpa) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        vmid && gpa
    }
}

/// Capacity of a [`Fences`] list before it widens its fences.
pub const FENCE_CAPACITY: usize = 8;

/// A bounded set of fences. When it would overflow it widens: per-address fences of a VMID
/// become one fence of that VMID, and at worst one fence of everything. Wider is always legal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fences {
    list: Vec<HfenceGvma, FENCE_CAPACITY>,
}

impl Fences {
    /// No fence.
    pub const fn new() -> Self {
        Fences { list: Vec::new() }
    }

    /// The fences to execute, in any order.
    pub fn as_slice(&self) -> &[HfenceGvma] {
        &self.list
    }

    /// Whether no fence is needed.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether executing these fences orders what `fence` orders.
    pub fn covers(&self, fence: HfenceGvma) -> bool {
        self.list.iter().any(|f| f.covers(fence))
    }

    /// Adds `fence`, widening when full.
    pub fn push(&mut self, fence: HfenceGvma) {
        if self.covers(fence) {
            return;
        }
        self.list.retain(|f| !fence.covers(*f));
        if self.list.push(fence).is_ok() {
            return;
        }
        // Full: widen the per-address fences of this VMID to one for the whole VMID.
        let widened = HfenceGvma {
            vmid: fence.vmid,
            gpa: None,
        };
        self.list.retain(|f| !widened.covers(*f));
        if self.list.push(widened).is_err() {
            self.list.clear();
            // Cannot fail: the list is empty.
            let _ = self.list.push(HfenceGvma {
                vmid: None,
                gpa: None,
            });
        }
    }
}
