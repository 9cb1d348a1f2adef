//! What each variable does, recorded where the variable is created, so that the harness
//! can count (and, if asked, freeze) parameters per group without re-reading names.

use std::cell::RefCell;
use std::collections::BTreeMap;

use tch::nn;

/// A variable's kind (each model's own enum, which the harness maps onto its parameter
/// groups) and, inside the stack, its layer: `None` for a variable outside the layers or
/// shared by all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarRole<K> {
    pub kind: K,
    pub layer: Option<usize>,
}

/// The roles of the variables created so far, by full variable name.
#[derive(Debug)]
pub(crate) struct RoleLog<K>(RefCell<BTreeMap<String, VarRole<K>>>);

// By hand: a derived `Default` would require `K: Default`.
impl<K> Default for RoleLog<K> {
    fn default() -> Self {
        Self(RefCell::default())
    }
}

impl<K: Copy> RoleLog<K> {
    /// Records that the variables `names` just created under `path` play `role`.
    pub(crate) fn record(&self, path: &nn::Path, names: &[&str], role: VarRole<K>) {
        let mut roles = self.0.borrow_mut();
        for name in names {
            roles.insert(path.path(name), role);
        }
    }

    pub(crate) fn into_map(self) -> BTreeMap<String, VarRole<K>> {
        self.0.into_inner()
    }
}
