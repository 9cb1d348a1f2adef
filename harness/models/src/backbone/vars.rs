//! Creating a backbone's variables together with their roles: each module says, where it
//! creates a variable, what that variable does (its [`ParamGroup`] and block), so a role is
//! never recovered later by re-reading the variable's name.

use std::cell::RefCell;
use std::collections::BTreeMap;

use spec::freeze::{ParamGroup, ParamRole};
use tch::nn::{self, Init};
use tch::Tensor;

/// The roles of the variables created so far, by full variable name.
#[derive(Debug, Default)]
pub struct Roles(RefCell<BTreeMap<String, ParamRole>>);

impl Roles {
    pub fn into_map(self) -> BTreeMap<String, ParamRole> {
        self.0.into_inner()
    }
}

/// An `nn::Path` that records the role of every variable created through it.
#[derive(Debug, Clone)]
pub struct RolePath<'a> {
    path: nn::Path<'a>,
    role: ParamRole,
    roles: &'a Roles,
}

impl<'a> RolePath<'a> {
    /// Variables under `path` in `group`, outside any block, recorded in `roles`.
    pub fn new(path: nn::Path<'a>, group: ParamGroup, roles: &'a Roles) -> Self {
        Self {
            path,
            role: ParamRole { group, layer: None },
            roles,
        }
    }

    /// The sub-path `name`, same role.
    pub fn sub(&self, name: impl ToString) -> Self {
        Self {
            path: self.path.sub(name),
            ..self.clone()
        }
    }

    /// The same path for variables of another group.
    pub fn group(&self, group: ParamGroup) -> Self {
        Self {
            role: ParamRole { group, ..self.role },
            ..self.clone()
        }
    }

    /// The sub-path of block `index`, whose variables belong to that block.
    pub fn block(&self, index: usize) -> Self {
        Self {
            role: ParamRole {
                layer: Some(index),
                ..self.role
            },
            ..self.sub(index)
        }
    }

    /// The same path for variables that belong to no single block, though stored inside
    /// one (T5's relative attention bias: in block 0, used by every block).
    pub fn outside_blocks(&self) -> Self {
        Self {
            role: ParamRole {
                layer: None,
                ..self.role
            },
            ..self.clone()
        }
    }

    /// Creates variable `name` (as [`nn::Path::var`]) and records its role.
    pub fn var(&self, name: &str, dims: &[i64], init: Init) -> Tensor {
        let tensor = self.path.var(name, dims, init);
        self.roles
            .0
            .borrow_mut()
            .insert(self.path.path(name), self.role);
        tensor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::VarStore, Device};

    #[test]
    fn each_variable_gets_the_role_of_the_path_it_was_made_through() {
        let vs = VarStore::new(Device::Cpu);
        let roles = Roles::default();
        let root = RolePath::new(vs.root(), ParamGroup::Other, &roles);
        let _ = root
            .sub("wpe")
            .group(ParamGroup::Positions)
            .var("weight", &[2], Init::Const(0.0));
        let block = root.sub("h").block(3).group(ParamGroup::Attention);
        let _ = block.sub("attn").var("bias", &[1], Init::Const(0.0));
        let roles = roles.into_map();
        let role = |n: &str| roles.get(n).map(|r| (r.group, r.layer));
        assert_eq!(role("wpe.weight"), Some((ParamGroup::Positions, None)));
        assert_eq!(
            role("h.3.attn.bias"),
            Some((ParamGroup::Attention, Some(3)))
        );
        assert_eq!(roles.len(), 2);
    }
}
