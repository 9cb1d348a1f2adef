//! ListOps expression trees, their value and their LRA text form.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Min,
    Max,
    /// Median, floored (`int(np.median(...))` in the LRA code).
    Med,
    /// Sum modulo 10.
    SumMod,
}

impl Op {
    /// In the order the LRA generator draws from.
    pub const ALL: [Op; 4] = [Op::Min, Op::Max, Op::Med, Op::SumMod];

    /// The opening token, e.g. `[MIN`.
    pub fn token(self) -> &'static str {
        match self {
            Op::Min => "[MIN",
            Op::Max => "[MAX",
            Op::Med => "[MED",
            Op::SumMod => "[SM",
        }
    }

    pub fn apply(self, args: &[u8]) -> u8 {
        match self {
            Op::Min => args.iter().copied().min().unwrap_or(0),
            Op::Max => args.iter().copied().max().unwrap_or(0),
            Op::Med => {
                let mut sorted = args.to_vec();
                sorted.sort_unstable();
                let n = sorted.len();
                match n {
                    0 => 0,
                    _ if n % 2 == 1 => sorted[n / 2],
                    _ => ((u16::from(sorted[n / 2 - 1]) + u16::from(sorted[n / 2])) / 2) as u8,
                }
            }
            Op::SumMod => (args.iter().map(|&a| u32::from(a)).sum::<u32>() % 10) as u8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Value(u8),
    Apply(Op, Vec<Node>),
}

impl Node {
    pub fn value(&self) -> u8 {
        match self {
            Node::Value(v) => *v,
            Node::Apply(op, args) => {
                let vals: Vec<u8> = args.iter().map(Node::value).collect();
                op.apply(&vals)
            }
        }
    }

    /// The LRA length: operators + values + closing brackets.
    pub fn length(&self) -> usize {
        match self {
            Node::Value(_) => 1,
            Node::Apply(_, args) => 2 + args.iter().map(Node::length).sum::<usize>(),
        }
    }

    /// The LRA text: each operator with k arguments is a left-nested chain of pairs, every
    /// pair printed as `( a b )`, closed by `]`:
    /// `[MAX 2 9 [MIN 4 7]]` -> `( ( ( ( [MAX 2 ) 9 ) ( ( ( [MIN 4 ) 7 ) ] ) ) ] )`.
    pub fn to_lra_string(&self) -> String {
        let mut out = String::new();
        self.write_lra(&mut out);
        out
    }

    fn write_lra(&self, out: &mut String) {
        match self {
            Node::Value(v) => {
                let _ = write!(out, "{v}");
            }
            Node::Apply(op, args) => {
                for _ in 0..=args.len() {
                    out.push_str("( ");
                }
                out.push_str(op.token());
                for arg in args {
                    out.push(' ');
                    arg.write_lra(out);
                    out.push_str(" )");
                }
                out.push_str(" ] )");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_like_the_lra_example() {
        let tree = Node::Apply(
            Op::Max,
            vec![
                Node::Value(2),
                Node::Value(9),
                Node::Apply(Op::Min, vec![Node::Value(4), Node::Value(7)]),
            ],
        );
        assert_eq!(
            tree.to_lra_string(),
            "( ( ( ( [MAX 2 ) 9 ) ( ( ( [MIN 4 ) 7 ) ] ) ) ] )"
        );
        assert_eq!(tree.value(), 9);
        assert_eq!(tree.length(), 2 + 1 + 1 + 4);
    }

    #[test]
    fn operators_match_lra() {
        assert_eq!(Op::Med.apply(&[1, 2, 3, 4]), 2); // median 2.5 floored
        assert_eq!(Op::Med.apply(&[9, 1, 5]), 5);
        assert_eq!(Op::SumMod.apply(&[9, 9, 3]), 1);
        assert_eq!(Op::Min.apply(&[4, 2, 8]), 2);
    }
}
