//! A restricted reader of CIFAR-10's Python batches (`cifar-10-batches-py/data_batch_1`, ...):
//! pickled dicts holding `data`, a numpy `uint8` array `[N, 3072]`, and `labels`, a list of
//! ints.
//!
//! Python's pickle format is a small stack machine whose GLOBAL, REDUCE and BUILD opcodes
//! import and call any Python function a file names, so unpickling a file with Python runs
//! whatever its author chose. This reader interprets only the opcodes these files use and
//! calls nothing: the "callables" it accepts are an allow-list of numpy's array
//! reconstruction (`_reconstruct`, `ndarray`, `dtype`, protocol 5's `_frombuffer`) and
//! `_codecs.encode` (how Python 3 writes bytes at protocol 2), which it evaluates itself
//! into an array, a dtype or bytes. Any other global is refused where the file names it,
//! with the global's name in the error.
//!
//! Accepted writers: Python 2's cPickle at protocol 2 (the published batches: py2 `str` as
//! SHORT_BINSTRING / BINSTRING, GLOBAL `numpy.core.multiarray _reconstruct`) and Python 3's
//! pickle at protocols 2 to 5 (BINUNICODE, SHORT_BINBYTES / BINBYTES, FRAME, MEMOIZE,
//! STACK_GLOBAL, numpy 2's `numpy._core`, protocol 5's BYTEARRAY8 with `_frombuffer`).
//!
//! Memory stays proportional to the input: each opcode pushes at most one value, the memo
//! shares values (`Rc`) instead of copying them, and byte payloads are copied out of the
//! input once, after their length is checked against what remains. Nesting is capped at
//! [`MAX_DEPTH`], so dropping a value never recurses deeply. Malformed input (truncated,
//! wrong lengths, stack underflow, memo misses) is an error, never a panic.

use std::collections::HashMap;
use std::rc::Rc;

use super::cifar::{IMAGE_BYTES, SIDE};
use super::ImageSet;

/// Deepest nesting of tuples, lists and dicts accepted (a CIFAR-10 batch nests 3 deep).
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PickleError {
    #[error("not a pickle of protocol 2 to 5 (a CIFAR-10 Python batch starts with bytes 80 02); it starts with {head}")]
    NotAPickle { head: String },
    #[error("the pickle ends inside {what} (at byte {offset}): the file is truncated")]
    Truncated { what: &'static str, offset: usize },
    #[error("opcode {opcode:#04x} at byte {offset} is not one a CIFAR-10 batch uses; refusing to interpret it")]
    Opcode { opcode: u8, offset: usize },
    #[error("refusing to call {global}: a CIFAR-10 batch names only numpy's array reconstruction ({allowed}), and this file names another global at byte {offset}; it is not a CIFAR-10 batch and may be crafted to run code")]
    Global {
        global: String,
        offset: usize,
        allowed: String,
    },
    #[error("refusing to {action} {target} at byte {offset}: only numpy's array and dtype constructors are evaluated")]
    Call {
        action: &'static str,
        target: String,
        offset: usize,
    },
    #[error("{opcode} at byte {offset} pops more values than the stack holds above its last MARK: the pickle is malformed")]
    Underflow { opcode: &'static str, offset: usize },
    #[error("{opcode} at byte {offset} has no MARK to pop to: the pickle is malformed")]
    NoMark { opcode: &'static str, offset: usize },
    #[error(
        "memo entry {index}, read at byte {offset}, was never stored: the pickle is malformed"
    )]
    MemoMiss { index: u32, offset: usize },
    #[error("memo entry {index}, read at byte {offset}, is {kind}: shared lists, dicts and unfinished arrays are not part of a CIFAR-10 batch")]
    Shared {
        index: u32,
        kind: &'static str,
        offset: usize,
    },
    #[error("malformed pickle at byte {offset}: {why}")]
    Malformed { offset: usize, why: String },
    #[error("{extra} byte(s) follow the STOP opcode at byte {offset}: not a single pickle")]
    Trailing { offset: usize, extra: usize },
    #[error("the pickle is not a CIFAR-10 batch: {0}")]
    NotABatch(String),
}

/// The opcodes accepted, by their byte (names as in CPython's `pickletools`).
mod op {
    pub const PROTO: u8 = 0x80;
    pub const FRAME: u8 = 0x95;
    pub const STOP: u8 = b'.';
    pub const MARK: u8 = b'(';
    pub const EMPTY_DICT: u8 = b'}';
    pub const EMPTY_LIST: u8 = b']';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const TUPLE: u8 = b't';
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const APPEND: u8 = b'a';
    pub const APPENDS: u8 = b'e';
    pub const SETITEM: u8 = b's';
    pub const SETITEMS: u8 = b'u';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const MEMOIZE: u8 = 0x94;
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
    pub const NONE: u8 = b'N';
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINBYTES: u8 = b'C';
    pub const BINBYTES: u8 = b'B';
    pub const BINBYTES8: u8 = 0x8e;
    pub const BYTEARRAY8: u8 = 0x96;
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE: u8 = b'X';
    pub const BINUNICODE8: u8 = 0x8d;
    pub const GLOBAL: u8 = b'c';
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const REDUCE: u8 = b'R';
    pub const BUILD: u8 = b'b';
}

/// The globals a CIFAR-10 batch may name, each evaluated here rather than called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Global {
    /// `_reconstruct(ndarray, shape, typecode)`: an empty array that BUILD then fills.
    Reconstruct,
    /// `numpy.ndarray`: only ever `_reconstruct`'s first argument.
    Ndarray,
    /// `dtype(spec, align, copy)`.
    Dtype,
    /// Protocol 5: `_frombuffer(buffer, dtype, shape, order)`.
    Frombuffer,
    /// `_codecs.encode(text, 'latin1')`: bytes as Python 3 writes them at protocol 2.
    Encode,
}

const ALLOWED: [(&str, &str, Global); 7] = [
    ("numpy.core.multiarray", "_reconstruct", Global::Reconstruct),
    (
        "numpy._core.multiarray",
        "_reconstruct",
        Global::Reconstruct,
    ),
    ("numpy", "ndarray", Global::Ndarray),
    ("numpy", "dtype", Global::Dtype),
    ("numpy.core.numeric", "_frombuffer", Global::Frombuffer),
    ("numpy._core.numeric", "_frombuffer", Global::Frombuffer),
    ("_codecs", "encode", Global::Encode),
];

impl Global {
    fn name(self) -> &'static str {
        match self {
            Global::Reconstruct => "numpy's _reconstruct",
            Global::Ndarray => "numpy.ndarray",
            Global::Dtype => "numpy.dtype",
            Global::Frombuffer => "numpy's _frombuffer",
            Global::Encode => "_codecs.encode",
        }
    }

    fn lookup(module: &str, name: &str, offset: usize) -> Result<Global, PickleError> {
        ALLOWED
            .iter()
            .find(|(m, n, _)| *m == module && *n == name)
            .map(|&(_, _, global)| global)
            .ok_or_else(|| PickleError::Global {
                global: format!("{module}.{name}"),
                offset,
                allowed: ALLOWED
                    .iter()
                    .map(|(m, n, _)| format!("{m}.{n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Items with the nesting depth they reach (1 for a container of scalars).
#[derive(Debug)]
struct Seq {
    items: Vec<Value>,
    depth: usize,
}

impl Seq {
    fn new(items: Vec<Value>, offset: usize) -> Result<Seq, PickleError> {
        let mut seq = Seq {
            items: Vec::with_capacity(items.len()),
            depth: 1,
        };
        seq.extend(items, offset)?;
        Ok(seq)
    }

    fn extend(&mut self, items: Vec<Value>, offset: usize) -> Result<(), PickleError> {
        for item in items {
            self.depth = nested(self.depth, &item, offset)?;
            self.items.push(item);
        }
        Ok(())
    }
}

/// A container's depth once `item` is inside it.
fn nested(depth: usize, item: &Value, offset: usize) -> Result<usize, PickleError> {
    let depth = depth.max(item.depth() + 1);
    if depth > MAX_DEPTH {
        return Err(malformed(
            offset,
            format!("values nest deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(depth)
}

/// An array of `uint8` in C order (the only kind a CIFAR-10 batch holds).
#[derive(Debug)]
struct Array {
    shape: Vec<usize>,
    data: Rc<[u8]>,
}

#[derive(Debug)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// Python 2 `str`, Python 3 `bytes` and `bytearray`.
    Bytes(Rc<[u8]>),
    Str(Rc<str>),
    Tuple(Rc<Seq>),
    /// Lists and dicts are filled after they are pushed, so they are never shared.
    List(Seq),
    /// Key-value pairs in order; a later key overrides an equal earlier one.
    Dict(Seq),
    Global(Global),
    /// `numpy.dtype('u1')`.
    Dtype,
    /// What `_reconstruct` returns: an array BUILD has not filled yet.
    UnbuiltArray,
    Array(Rc<Array>),
}

impl Value {
    fn depth(&self) -> usize {
        match self {
            Value::Tuple(seq) => seq.depth,
            Value::List(seq) | Value::Dict(seq) => seq.depth,
            _ => 0,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Bytes(_) => "bytes",
            Value::Str(_) => "a str",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::Dict(_) => "a dict",
            Value::Global(global) => global.name(),
            Value::Dtype => "a numpy dtype",
            Value::UnbuiltArray => "an unfinished numpy array",
            Value::Array(_) => "a numpy array",
        }
    }

    /// A second handle on this value for the memo, or what it is when it cannot be shared.
    fn share(&self) -> Result<Value, &'static str> {
        Ok(match self {
            Value::None => Value::None,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(i) => Value::Int(*i),
            Value::Bytes(b) => Value::Bytes(b.clone()),
            Value::Str(s) => Value::Str(s.clone()),
            Value::Tuple(t) => Value::Tuple(t.clone()),
            Value::Global(g) => Value::Global(*g),
            Value::Dtype => Value::Dtype,
            Value::Array(a) => Value::Array(a.clone()),
            Value::List(_) | Value::Dict(_) | Value::UnbuiltArray => return Err(self.kind()),
        })
    }

    /// Text of a str, or of bytes (Python 2 wrote its text as bytes).
    fn text(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }
}

fn malformed(offset: usize, why: impl Into<String>) -> PickleError {
    PickleError::Malformed {
        offset,
        why: why.into(),
    }
}

/// Parse one CIFAR-10 Python batch held in memory.
pub fn parse_batch(bytes: &[u8]) -> Result<ImageSet, PickleError> {
    batch_from(Machine::new(bytes).run()?)
}

/// The pickle machine's state while it reads `input`.
struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    /// Stack lengths at each open MARK.
    marks: Vec<usize>,
    /// Shared values, or what an unshareable entry is (for the error on reading it).
    memo: HashMap<u32, Result<Value, &'static str>>,
}

impl<'a> Machine<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    /// Runs to STOP and returns the object it leaves.
    fn run(mut self) -> Result<Value, PickleError> {
        self.protocol()?;
        loop {
            let at = self.pos;
            match self.byte("its opcodes, before STOP")? {
                op::STOP => return self.stop(at),
                opcode => self.step(opcode, at)?,
            }
        }
    }

    fn protocol(&mut self) -> Result<(), PickleError> {
        match self.input {
            [op::PROTO, 2..=5, ..] => {
                self.pos = 2;
                Ok(())
            }
            _ => Err(PickleError::NotAPickle {
                head: self
                    .input
                    .iter()
                    .take(2)
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            }),
        }
    }

    fn stop(&mut self, at: usize) -> Result<Value, PickleError> {
        let top = self.pop("STOP", at)?;
        let extra = self.input.len() - self.pos;
        if extra > 0 {
            return Err(PickleError::Trailing { offset: at, extra });
        }
        Ok(top)
    }

    /// One opcode (its byte already read, at `at`).
    fn step(&mut self, opcode: u8, at: usize) -> Result<(), PickleError> {
        match opcode {
            op::FRAME => self.frame(),
            op::MARK => {
                self.marks.push(self.stack.len());
                Ok(())
            }
            op::EMPTY_DICT => self.push(Value::Dict(Seq::new(Vec::new(), at)?)),
            op::EMPTY_LIST => self.push(Value::List(Seq::new(Vec::new(), at)?)),
            op::EMPTY_TUPLE => self.push(Value::Tuple(Rc::new(Seq::new(Vec::new(), at)?))),
            op::TUPLE => {
                let items = self.pop_mark("TUPLE", at)?;
                self.push_tuple(items, at)
            }
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let items = self.pop_n(usize::from(opcode - op::TUPLE1) + 1, "TUPLEn", at)?;
                self.push_tuple(items, at)
            }
            op::APPEND => {
                let item = self.pop("APPEND", at)?;
                self.extend_list(vec![item], "APPEND", at)
            }
            op::APPENDS => {
                let items = self.pop_mark("APPENDS", at)?;
                self.extend_list(items, "APPENDS", at)
            }
            op::SETITEM => {
                let pair = self.pop_n(2, "SETITEM", at)?;
                self.extend_dict(pair, "SETITEM", at)
            }
            op::SETITEMS => {
                let pairs = self.pop_mark("SETITEMS", at)?;
                self.extend_dict(pairs, "SETITEMS", at)
            }
            op::BINPUT => {
                let index = self.byte("BINPUT")?;
                self.memoize(u32::from(index), at)
            }
            op::LONG_BINPUT => {
                let index = self.u32("LONG_BINPUT")?;
                self.memoize(index, at)
            }
            op::MEMOIZE => {
                let index = u32::try_from(self.memo.len())
                    .map_err(|_| malformed(at, "too many memo entries"))?;
                self.memoize(index, at)
            }
            op::BINGET => {
                let index = self.byte("BINGET")?;
                self.recall(u32::from(index), at)
            }
            op::LONG_BINGET => {
                let index = self.u32("LONG_BINGET")?;
                self.recall(index, at)
            }
            _ => self.scalar_or_call(opcode, at),
        }
    }

    /// Opcodes that push a scalar or a string, or evaluate a global.
    fn scalar_or_call(&mut self, opcode: u8, at: usize) -> Result<(), PickleError> {
        let value = match opcode {
            op::NONE => Value::None,
            op::NEWTRUE => Value::Bool(true),
            op::NEWFALSE => Value::Bool(false),
            op::BININT1 => Value::Int(i64::from(self.byte("BININT1")?)),
            op::BININT2 => Value::Int(i64::from(u16::from_le_bytes(self.array("BININT2")?))),
            op::BININT => Value::Int(i64::from(i32::from_le_bytes(self.array("BININT")?))),
            op::SHORT_BINSTRING | op::SHORT_BINBYTES => {
                let len = self.byte("a short string")?;
                Value::Bytes(self.take(usize::from(len), "a short string")?.into())
            }
            op::BINSTRING => {
                let len = i32::from_le_bytes(self.array("BINSTRING")?);
                let len = usize::try_from(len)
                    .map_err(|_| malformed(at, format!("BINSTRING of negative length {len}")))?;
                Value::Bytes(self.take(len, "BINSTRING")?.into())
            }
            op::BINBYTES => {
                let len = self.u32("BINBYTES")?;
                Value::Bytes(self.take_u64(u64::from(len), "BINBYTES")?.into())
            }
            op::BINBYTES8 | op::BYTEARRAY8 => {
                let len = u64::from_le_bytes(self.array("BINBYTES8")?);
                Value::Bytes(self.take_u64(len, "BINBYTES8")?.into())
            }
            op::SHORT_BINUNICODE => {
                let len = self.byte("SHORT_BINUNICODE")?;
                self.text(u64::from(len), at)?
            }
            op::BINUNICODE => {
                let len = self.u32("BINUNICODE")?;
                self.text(u64::from(len), at)?
            }
            op::BINUNICODE8 => {
                let len = u64::from_le_bytes(self.array("BINUNICODE8")?);
                self.text(len, at)?
            }
            op::GLOBAL => {
                let module = self.line("GLOBAL's module", at)?;
                let name = self.line("GLOBAL's name", at)?;
                Value::Global(Global::lookup(module, name, at)?)
            }
            op::STACK_GLOBAL => self.stack_global(at)?,
            op::REDUCE => {
                let [callable, args] = self.pop_array("REDUCE", at)?;
                reduce(callable, args, at)?
            }
            op::BUILD => {
                let [target, state] = self.pop_array("BUILD", at)?;
                build(target, state, at)?
            }
            other => {
                return Err(PickleError::Opcode {
                    opcode: other,
                    offset: at,
                })
            }
        };
        self.push(value)
    }

    fn frame(&mut self) -> Result<(), PickleError> {
        // A FRAME only announces how many bytes follow; check that they do.
        let len = u64::from_le_bytes(self.array("FRAME")?);
        let remaining = (self.input.len() - self.pos) as u64;
        if len > remaining {
            return Err(PickleError::Truncated {
                what: "a FRAME",
                offset: self.input.len(),
            });
        }
        Ok(())
    }

    fn stack_global(&mut self, at: usize) -> Result<Value, PickleError> {
        let [module, name] = self.pop_array("STACK_GLOBAL", at)?;
        match (module, name) {
            (Value::Str(module), Value::Str(name)) => {
                Ok(Value::Global(Global::lookup(&module, &name, at)?))
            }
            (module, name) => Err(malformed(
                at,
                format!(
                    "STACK_GLOBAL needs two str, got {} and {}",
                    module.kind(),
                    name.kind()
                ),
            )),
        }
    }

    fn text(&mut self, len: u64, at: usize) -> Result<Value, PickleError> {
        let bytes = self.take_u64(len, "a unicode string")?;
        let text = std::str::from_utf8(bytes)
            .map_err(|e| malformed(at, format!("unicode string is not UTF-8: {e}")))?;
        Ok(Value::Str(text.into()))
    }

    fn push(&mut self, value: Value) -> Result<(), PickleError> {
        self.stack.push(value);
        Ok(())
    }

    fn push_tuple(&mut self, items: Vec<Value>, at: usize) -> Result<(), PickleError> {
        let tuple = Seq::new(items, at)?;
        self.push(Value::Tuple(Rc::new(tuple)))
    }

    /// The stack's floor: values below the last MARK belong to an enclosing opcode.
    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self, opcode: &'static str, at: usize) -> Result<Value, PickleError> {
        if self.stack.len() <= self.floor() {
            return Err(PickleError::Underflow { opcode, offset: at });
        }
        self.stack
            .pop()
            .ok_or(PickleError::Underflow { opcode, offset: at })
    }

    fn pop_n(
        &mut self,
        n: usize,
        opcode: &'static str,
        at: usize,
    ) -> Result<Vec<Value>, PickleError> {
        let start = self
            .stack
            .len()
            .checked_sub(n)
            .filter(|&start| start >= self.floor())
            .ok_or(PickleError::Underflow { opcode, offset: at })?;
        Ok(self.stack.split_off(start))
    }

    fn pop_array<const N: usize>(
        &mut self,
        opcode: &'static str,
        at: usize,
    ) -> Result<[Value; N], PickleError> {
        let values = self.pop_n(N, opcode, at)?;
        values
            .try_into()
            .map_err(|_| PickleError::Underflow { opcode, offset: at })
    }

    /// Everything above the last MARK, which is closed.
    fn pop_mark(&mut self, opcode: &'static str, at: usize) -> Result<Vec<Value>, PickleError> {
        let mark = self
            .marks
            .pop()
            .ok_or(PickleError::NoMark { opcode, offset: at })?;
        // `pop` never goes below the last mark, so the stack still reaches it.
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn top(&mut self, opcode: &'static str, at: usize) -> Result<&mut Value, PickleError> {
        let floor = self.floor();
        match self.stack.len() {
            len if len > floor => Ok(&mut self.stack[len - 1]),
            _ => Err(PickleError::Underflow { opcode, offset: at }),
        }
    }

    fn extend_list(
        &mut self,
        items: Vec<Value>,
        opcode: &'static str,
        at: usize,
    ) -> Result<(), PickleError> {
        match self.top(opcode, at)? {
            Value::List(list) => list.extend(items, at),
            other => Err(malformed(
                at,
                format!("{opcode} on {}, not a list", other.kind()),
            )),
        }
    }

    fn extend_dict(
        &mut self,
        pairs: Vec<Value>,
        opcode: &'static str,
        at: usize,
    ) -> Result<(), PickleError> {
        if !pairs.len().is_multiple_of(2) {
            return Err(malformed(
                at,
                format!("{opcode} with an odd number of keys and values"),
            ));
        }
        match self.top(opcode, at)? {
            Value::Dict(dict) => dict.extend(pairs, at),
            other => Err(malformed(
                at,
                format!("{opcode} on {}, not a dict", other.kind()),
            )),
        }
    }

    fn memoize(&mut self, index: u32, at: usize) -> Result<(), PickleError> {
        let entry = self.top("a memo store", at)?.share();
        self.memo.insert(index, entry);
        Ok(())
    }

    fn recall(&mut self, index: u32, at: usize) -> Result<(), PickleError> {
        let value = match self.memo.get(&index) {
            None => return Err(PickleError::MemoMiss { index, offset: at }),
            Some(Err(kind)) => {
                return Err(PickleError::Shared {
                    index,
                    kind,
                    offset: at,
                })
            }
            Some(Ok(value)) => value.share().map_err(|kind| PickleError::Shared {
                index,
                kind,
                offset: at,
            })?,
        };
        self.push(value)
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], PickleError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.input.len())
            .ok_or(PickleError::Truncated {
                what,
                offset: self.input.len(),
            })?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// `take` for a length read from the file: checked against the input before any use.
    fn take_u64(&mut self, len: u64, what: &'static str) -> Result<&'a [u8], PickleError> {
        let len = usize::try_from(len).map_err(|_| PickleError::Truncated {
            what,
            offset: self.input.len(),
        })?;
        self.take(len, what)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], PickleError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, PickleError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, PickleError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A newline-terminated line (GLOBAL's operands), without the newline.
    fn line(&mut self, what: &'static str, at: usize) -> Result<&'a str, PickleError> {
        let rest = &self.input[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated {
                what,
                offset: self.input.len(),
            })?;
        let line = self.take(len + 1, what)?;
        std::str::from_utf8(&line[..len]).map_err(|_| malformed(at, format!("{what} is not UTF-8")))
    }
}

/// REDUCE: `callable(*args)`, for the allow-listed callables only.
fn reduce(callable: Value, args: Value, at: usize) -> Result<Value, PickleError> {
    let Value::Global(global) = callable else {
        return Err(PickleError::Call {
            action: "call",
            target: callable.kind().into(),
            offset: at,
        });
    };
    let Value::Tuple(args) = args else {
        return Err(malformed(
            at,
            format!(
                "{}'s arguments are {}, not a tuple",
                global.name(),
                args.kind()
            ),
        ));
    };
    let args = &args.items[..];
    match global {
        Global::Reconstruct => reconstruct(args, at),
        Global::Dtype => dtype(args, at),
        Global::Encode => latin1(args, at),
        Global::Frombuffer => frombuffer(args, at),
        Global::Ndarray => Err(PickleError::Call {
            action: "call",
            target: global.name().into(),
            offset: at,
        }),
    }
}

fn wrong_args(global: Global, args: &[Value], at: usize) -> PickleError {
    let kinds: Vec<&str> = args.iter().map(Value::kind).collect();
    malformed(
        at,
        format!(
            "{} called with ({}), not as numpy pickles it",
            global.name(),
            kinds.join(", ")
        ),
    )
}

/// `_reconstruct(ndarray, shape, b'b')`: an array BUILD will fill.
fn reconstruct(args: &[Value], at: usize) -> Result<Value, PickleError> {
    match args {
        [Value::Global(Global::Ndarray), Value::Tuple(_), typecode]
            if typecode.text() == Some("b") =>
        {
            Ok(Value::UnbuiltArray)
        }
        _ => Err(wrong_args(Global::Reconstruct, args, at)),
    }
}

/// `dtype('u1', align, copy)`: only `uint8` is accepted.
fn dtype(args: &[Value], at: usize) -> Result<Value, PickleError> {
    match args {
        [spec, align, copy] if align.int().is_some() && copy.int().is_some() => match spec.text() {
            Some("u1") => Ok(Value::Dtype),
            Some(other) => Err(PickleError::NotABatch(format!(
                "its array's dtype is {other:?}, not uint8 ('u1')"
            ))),
            None => Err(wrong_args(Global::Dtype, args, at)),
        },
        _ => Err(wrong_args(Global::Dtype, args, at)),
    }
}

/// `_codecs.encode(text, 'latin1')`: each character is one byte.
fn latin1(args: &[Value], at: usize) -> Result<Value, PickleError> {
    let [Value::Str(text), encoding] = args else {
        return Err(wrong_args(Global::Encode, args, at));
    };
    if !matches!(encoding.text(), Some("latin1" | "latin-1")) {
        return Err(wrong_args(Global::Encode, args, at));
    }
    let bytes: Option<Vec<u8>> = text.chars().map(|c| u8::try_from(c).ok()).collect();
    bytes
        .map(|b| Value::Bytes(b.into()))
        .ok_or_else(|| malformed(at, "latin1 text holds a character above U+00FF"))
}

/// Protocol 5: `_frombuffer(buffer, dtype, shape, 'C')`.
fn frombuffer(args: &[Value], at: usize) -> Result<Value, PickleError> {
    match args {
        [Value::Bytes(data), Value::Dtype, Value::Tuple(shape), order] => {
            if order.text() != Some("C") {
                return Err(PickleError::NotABatch("its array is not in C order".into()));
            }
            array(shape, data.clone(), at)
        }
        _ => Err(wrong_args(Global::Frombuffer, args, at)),
    }
}

/// BUILD: set the state of an unfinished array or of a dtype; nothing else.
fn build(target: Value, state: Value, at: usize) -> Result<Value, PickleError> {
    match target {
        Value::UnbuiltArray => array_state(&state, at),
        Value::Dtype => dtype_state(&state, at).map(|()| Value::Dtype),
        other => Err(PickleError::Call {
            action: "set the state of",
            target: other.kind().into(),
            offset: at,
        }),
    }
}

/// numpy's array state: `(1, shape, dtype, is_fortran, data)`.
fn array_state(state: &Value, at: usize) -> Result<Value, PickleError> {
    let Value::Tuple(state) = state else {
        return Err(malformed(
            at,
            format!("array state is {}, not a tuple", state.kind()),
        ));
    };
    match &state.items[..] {
        [version, Value::Tuple(shape), Value::Dtype, fortran, Value::Bytes(data)]
            if version.int() == Some(1) =>
        {
            match fortran.int() {
                Some(0) => array(shape, data.clone(), at),
                Some(_) => Err(PickleError::NotABatch(
                    "its array is in Fortran order, not C order".into(),
                )),
                None => Err(malformed(at, "array state's order flag is not a bool")),
            }
        }
        items => Err(malformed(
            at,
            format!(
                "array state ({}) is not (1, shape, uint8 dtype, is_fortran, bytes)",
                items.iter().map(Value::kind).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// numpy's dtype state: `(version, byte order, ...)`; for one-byte values the order is moot,
/// but it must be one numpy writes.
fn dtype_state(state: &Value, at: usize) -> Result<(), PickleError> {
    let order = match state {
        Value::Tuple(items) => items.items.get(1).and_then(Value::text),
        _ => None,
    };
    match order {
        Some("|" | "<" | ">" | "=") => Ok(()),
        _ => Err(malformed(
            at,
            "dtype state is not (version, byte order, ...)",
        )),
    }
}

/// An array of `shape` over `data`, whose length must be the shape's product.
fn array(shape: &Seq, data: Rc<[u8]>, at: usize) -> Result<Value, PickleError> {
    let dims: Option<Vec<usize>> = shape
        .items
        .iter()
        .map(|d| d.int().and_then(|d| usize::try_from(d).ok()))
        .collect();
    let dims = dims.ok_or_else(|| malformed(at, "array shape is not a tuple of sizes"))?;
    let len = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if len != Some(data.len()) {
        return Err(malformed(
            at,
            format!(
                "array of shape {dims:?} needs {} bytes of uint8 data, the pickle holds {}",
                len.map_or("too many".to_string(), |l| l.to_string()),
                data.len()
            ),
        ));
    }
    Ok(Value::Array(Rc::new(Array { shape: dims, data })))
}

/// The batch a top-level dict describes.
fn batch_from(top: Value) -> Result<ImageSet, PickleError> {
    let not_batch = |why: String| PickleError::NotABatch(why);
    let Value::Dict(dict) = top else {
        return Err(not_batch(format!(
            "the pickled object is {}, not a dict",
            top.kind()
        )));
    };
    let data = match entry(&dict, "data") {
        Some(Value::Array(array)) => array,
        Some(other) => {
            return Err(not_batch(format!(
                "'data' is {}, not a numpy array",
                other.kind()
            )))
        }
        None => return Err(not_batch("it has no 'data' key".into())),
    };
    let count = match data.shape[..] {
        [count, IMAGE_BYTES] if count > 0 => count,
        _ => {
            return Err(not_batch(format!(
                "'data' has shape {:?}; a batch has [N, {IMAGE_BYTES}] with N at least 1",
                data.shape
            )))
        }
    };
    let labels = match entry(&dict, "labels") {
        Some(Value::List(labels)) => labels_from(&labels.items, count)?,
        Some(other) => {
            return Err(not_batch(format!(
                "'labels' is {}, not a list",
                other.kind()
            )))
        }
        None => return Err(not_batch("it has no 'labels' key".into())),
    };
    Ok(ImageSet {
        count,
        channels: 3,
        height: SIDE,
        width: SIDE,
        pixels: data.data.to_vec(),
        labels,
    })
}

/// The value of the last `key` (str or bytes) in a dict's pairs.
fn entry<'v>(dict: &'v Seq, key: &str) -> Option<&'v Value> {
    dict.items
        .chunks_exact(2)
        .rev()
        .find(|pair| pair[0].text() == Some(key))
        .map(|pair| &pair[1])
}

fn labels_from(items: &[Value], count: usize) -> Result<Vec<u8>, PickleError> {
    if items.len() != count {
        return Err(PickleError::NotABatch(format!(
            "{count} images but {} labels",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, label)| match label.int() {
            Some(l @ 0..=9) => Ok(l as u8),
            _ => Err(PickleError::NotABatch(format!(
                "label {i} is {}, not an int in 0..=9",
                match label.int() {
                    Some(l) => l.to_string(),
                    None => label.kind().to_string(),
                }
            ))),
        })
        .collect()
}
