//! The libtorch device a [`DeviceSpec`] names.

use spec::DeviceSpec;
use tch::Device;

/// A run's device as libtorch's.
pub trait TchDevice {
    fn tch(&self) -> Device;
}

impl TchDevice for DeviceSpec {
    fn tch(&self) -> Device {
        match *self {
            DeviceSpec::Cpu => Device::Cpu,
            DeviceSpec::Cuda(i) => Device::Cuda(i),
        }
    }
}
