//! Getting a WebGPU device from the browser, and what we tell the page about it.

use crate::errors::WebError;
use std::sync::{Arc, Mutex};

/// A WebGPU device and queue, with the adapter's facts and a slot the device-lost callback
/// fills.
pub struct Gpu {
    /// The device the model's buffers and pipelines live on.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Adapter name, vendor, architecture, features and limits we rely on (JSON).
    pub facts: serde_json::Value,
    /// Set (with the browser's reason) when the device is lost.
    pub lost: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Asks the browser for a high-performance adapter and a device with its limits.
    pub async fn request() -> Result<Self, WebError> {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = wgpu::Backends::BROWSER_WEBGPU;
        let instance = wgpu::Instance::new(descriptor);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..wgpu::RequestAdapterOptions::default()
            })
            .await
            .map_err(|e| WebError::WebGpu(format!("no WebGPU adapter: {e}")))?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        let facts = serde_json::json!({
            "name": info.name,
            "vendor": info.vendor,
            "device": info.device,
            "architecture": info.driver,
            "driver_info": info.driver_info,
            "backend": format!("{:?}", info.backend),
            "shader_f16": features.contains(wgpu::Features::SHADER_F16),
            "subgroups": features.contains(wgpu::Features::SUBGROUP),
            "max_buffer_size": limits.max_buffer_size,
            "max_storage_buffer_binding_size": limits.max_storage_buffer_binding_size,
            "max_compute_workgroup_size_x": limits.max_compute_workgroup_size_x,
            "max_compute_invocations_per_workgroup": limits.max_compute_invocations_per_workgroup,
        });
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("lmfast"),
                required_features: wgpu::Features::empty(),
                // The adapter's own limits: large vocabularies need more than the defaults'
                // 128 MiB per storage binding.
                required_limits: limits,
                ..wgpu::DeviceDescriptor::default()
            })
            .await
            .map_err(|e| WebError::WebGpu(format!("the adapter refused a device: {e}")))?;
        // wgpu asks for a `Send` callback; in the single-threaded browser build the mutex is
        // never contended.
        let lost = Arc::new(Mutex::new(None));
        let slot = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut s) = slot.lock() {
                *s = Some(format!("{reason:?}: {message}"));
            }
        });
        Ok(Self {
            device,
            queue,
            facts,
            lost,
        })
    }
}
