//! Stand-ins for [`super::sys`] when cw-workload is built without the `xen`
//! feature: every constructor fails with a message that says how to get a
//! build with Xen support, so the handles can never exist and their other
//! methods are unreachable (an uninhabited field).

use std::io;
use std::time::Duration;

/// Why the Xen modes are unavailable in this build.
pub const NO_XEN: &str = super::NO_XEN;

#[derive(Clone, Copy)]
enum Never {}

fn unsupported<T>() -> io::Result<T> {
    Err(io::Error::new(io::ErrorKind::Unsupported, NO_XEN))
}

pub struct Xs(Never);

impl Xs {
    pub fn open() -> io::Result<Xs> {
        unsupported()
    }
    pub fn read(&self, _path: &str) -> io::Result<String> {
        match self.0 {}
    }
    pub fn write(&self, _path: &str, _value: &str) -> io::Result<()> {
        match self.0 {}
    }
    pub fn remove(&self, _path: &str) -> io::Result<()> {
        match self.0 {}
    }
    pub fn owner_and_reader(&self, _path: &str, _owner: u32, _reader: u32) -> io::Result<()> {
        match self.0 {}
    }
}

pub struct Evtchn(Never);

impl Evtchn {
    pub fn open() -> io::Result<Evtchn> {
        unsupported()
    }
    pub fn bind_unbound(&self, _remote: u32) -> io::Result<u32> {
        match self.0 {}
    }
    pub fn bind_interdomain(&self, _remote: u32, _port: u32) -> io::Result<u32> {
        match self.0 {}
    }
    pub fn notify(&self, _port: u32) -> io::Result<()> {
        match self.0 {}
    }
    pub fn wait(&self, _timeout: Duration) -> io::Result<Option<u32>> {
        match self.0 {}
    }
    pub fn unmask(&self, _port: u32) -> io::Result<()> {
        match self.0 {}
    }
}

pub struct Vchan(Never);

pub enum Recv {
    Got,
    Empty,
    Closed,
}

impl Vchan {
    pub fn server(_peer: u32, _path: &str, _ring: usize) -> io::Result<Vchan> {
        unsupported()
    }
    pub fn client(_server: u32, _path: &str) -> io::Result<Vchan> {
        unsupported()
    }
    pub fn send(&self, _data: &[u8]) -> io::Result<bool> {
        match self.0 {}
    }
    pub fn recv(&self, _buf: &mut [u8]) -> Recv {
        match self.0 {}
    }
    pub fn is_open(&self) -> bool {
        match self.0 {}
    }
    pub fn wait(&self, _timeout: Duration) -> io::Result<bool> {
        match self.0 {}
    }
}
