//! The compiled WGSL kernels, bind-group plumbing shared by the model and the kernel
//! checks, and the asynchronous readback.
//!
//! Every kernel binds the per-call uniform at 0, its own parameters at 1, then its
//! read-only storage buffers, then its read-write ones; so a layout is named by
//! `(read-only count, read-write count)` and one explicit layout serves a kernel's
//! one-token and many-token pipelines alike (automatic layouts are never shared).

use crate::error::{Error, Result};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

const COMMON: &str = include_str!("shaders/common.wgsl");

/// Bytes of one parameter slot (every kernel's parameter struct fits).
pub(crate) const PARAM_BYTES: u64 = 64;
/// Tokens one weight read serves in the many-token matrix kernels (`MAXT` in the WGSL).
pub(crate) const TILE: u32 = 8;
/// Invocations per output row in the matrix kernels (`LANES` in the WGSL) on a GPU: one
/// per lane sum of the CPU kernels (whose order of additions they repeat), so the 64 of
/// a workgroup cover 8 rows.
const GPU_LANES: u32 = 8;
/// Largest head width the attention kernel holds in workgroup memory.
pub(crate) const MAX_HEAD_DIM: usize = 256;

/// One compute pipeline and the layout its bind groups are made for.
pub(crate) struct Kernel {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
}

/// A one-token and a many-token pipeline of the same matrix kernel.
pub(crate) struct MatKernel {
    pub(crate) one: Kernel,
    pub(crate) many: Kernel,
}

/// Every pipeline, compiled once per device.
pub(crate) struct Kernels {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) quantize: Kernel,
    pub(crate) q4: MatKernel,
    pub(crate) q8: MatKernel,
    pub(crate) dense: MatKernel,
    pub(crate) rms_norm: Kernel,
    pub(crate) rope_kv: Kernel,
    pub(crate) attention: Kernel,
    pub(crate) gated: Kernel,
    pub(crate) head_norm: Kernel,
    pub(crate) embed: Kernel,
    pub(crate) argmax: Kernel,
    /// Bound where a kernel declares a buffer the matrix at hand lacks (minimums).
    pub(crate) unused_binding: wgpu::Buffer,
    /// The largest storage binding (and buffer) this device allows.
    pub(crate) max_binding: u64,
    pub(crate) uniform_align: u64,
    /// Output rows of one matrix-kernel workgroup.
    pub(crate) rows_per_group: u32,
}

impl Kernels {
    pub(crate) fn new(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let limits = device.limits();
        // On a CPU adapter (lavapipe) one invocation per row, with no workgroup barriers,
        // measured 1.76 against 1.10 tokens/s for 16 lanes on SmolLM2-135M.
        let lanes = if device.adapter_info().device_type == wgpu::DeviceType::Cpu {
            1
        } else {
            GPU_LANES
        };
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let uniform_align = u64::from(limits.min_uniform_buffer_offset_alignment).max(16);
        let module = |name: &str, source: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(format!("{COMMON}\n{source}").into()),
            })
        };
        let layout = |ro: u32, rw: u32| {
            let buffer = |binding: u32, ty: wgpu::BufferBindingType| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            };
            let mut entries = vec![
                buffer(0, wgpu::BufferBindingType::Uniform),
                buffer(1, wgpu::BufferBindingType::Uniform),
            ];
            for i in 0..ro {
                entries.push(buffer(
                    2 + i,
                    wgpu::BufferBindingType::Storage { read_only: true },
                ));
            }
            for i in 0..rw {
                entries.push(buffer(
                    2 + ro + i,
                    wgpu::BufferBindingType::Storage { read_only: false },
                ));
            }
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: None,
                entries: &entries,
            })
        };
        let kernel = |name: &str,
                      module: &wgpu::ShaderModule,
                      layout: wgpu::BindGroupLayout,
                      tile: Option<u32>| {
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(name),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let constants: Vec<(&str, f64)> = match tile {
                Some(t) => vec![("TILE", f64::from(t)), ("LANES", f64::from(lanes))],
                None => Vec::new(),
            };
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: Some(&pipeline_layout),
                module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    // Every workgroup array is written before it is read.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
            Kernel { pipeline, layout }
        };
        let single = |name: &str, source: &str, ro, rw| {
            kernel(name, &module(name, source), layout(ro, rw), None)
        };
        let matrix = |name: &str, source: &str, ro, rw| {
            let m = module(name, source);
            let shared = layout(ro, rw);
            MatKernel {
                one: kernel(name, &m, shared.clone(), Some(1)),
                many: kernel(name, &m, shared, Some(TILE)),
            }
        };
        let quantize = single("quantize", include_str!("shaders/quantize.wgsl"), 1, 2);
        let q4 = matrix("matmul_q4", include_str!("shaders/matmul_q4.wgsl"), 5, 1);
        let q8 = matrix("matmul_q8", include_str!("shaders/matmul_q8.wgsl"), 4, 1);
        let dense = matrix(
            "matmul_dense",
            include_str!("shaders/matmul_dense.wgsl"),
            2,
            1,
        );
        let rms_norm = single("rms_norm", include_str!("shaders/rms_norm.wgsl"), 2, 1);
        let rope_kv = single("rope_kv", include_str!("shaders/rope_kv.wgsl"), 3, 3);
        let attention = single("attention", include_str!("shaders/attention.wgsl"), 3, 1);
        let gated = single("gated", include_str!("shaders/gated.wgsl"), 1, 1);
        let head_norm = single("head_norm", include_str!("shaders/head_norm.wgsl"), 2, 1);
        let embed = single("embed", include_str!("shaders/embed.wgsl"), 4, 1);
        let argmax = single("argmax", include_str!("shaders/argmax.wgsl"), 1, 1);
        let unused_binding = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("unused binding"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        Self {
            device,
            queue,
            quantize,
            q4,
            q8,
            dense,
            rms_norm,
            rope_kv,
            attention,
            gated,
            head_norm,
            embed,
            argmax,
            unused_binding,
            max_binding,
            uniform_align,
            rows_per_group: 64 / lanes,
        }
    }

    /// A bind group in the shared order: call, parameters, read-only, read-write buffers.
    pub(crate) fn bind(
        &self,
        kernel: &Kernel,
        call: &wgpu::Buffer,
        params: (&wgpu::Buffer, u64),
        ro: &[&wgpu::Buffer],
        rw: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let mut entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: call.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: params.0,
                    offset: params.1,
                    size: wgpu::BufferSize::new(PARAM_BYTES),
                }),
            },
        ];
        for (i, b) in ro.iter().chain(rw).enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: 2 + i as u32,
                resource: b.as_entire_binding(),
            });
        }
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &kernel.layout,
            entries: &entries,
        })
    }

    /// A storage buffer of `bytes` (at least 16), or an error when the device cannot bind it.
    pub(crate) fn storage(
        &self,
        label: &str,
        bytes: u64,
        extra: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        if bytes > self.max_binding {
            return Err(Error::Gpu(format!(
                "{label}: {bytes} bytes exceed the device's largest storage binding ({} bytes)",
                self.max_binding
            )));
        }
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(16).next_multiple_of(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | extra,
            mapped_at_creation: false,
        }))
    }

    /// A uniform buffer holding `data` (the per-call values or the parameter slots).
    pub(crate) fn uniform(&self, label: &str, data: &[u8]) -> wgpu::Buffer {
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (data.len() as u64).max(16).next_multiple_of(16),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&buffer, 0, data);
        buffer
    }

    /// A buffer the host can map to read results back.
    pub(crate) fn staging(&self, bytes: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: bytes.max(16).next_multiple_of(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Submits `encoder` inside validation and out-of-memory error scopes, so that a failure
    /// comes back as an error rather than a panic from wgpu's default handler.
    pub(crate) async fn submit(&self, encoder: wgpu::CommandEncoder) -> Result<()> {
        let (validation, memory) = {
            let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            self.queue.submit([encoder.finish()]);
            // Scopes pop in reverse order; the guards must not live across an await.
            (memory.pop(), validation.pop())
        };
        match validation.await.or(memory.await) {
            Some(e) => Err(Error::Gpu(e.to_string())),
            None => Ok(()),
        }
    }

    /// Reads the first `bytes` of `staging` (already filled by a submitted copy).
    pub(crate) async fn read(&self, staging: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        let slice = staging.slice(..bytes);
        let state = Arc::new(Mutex::new(MapState::default()));
        let done = Arc::clone(&state);
        slice.map_async(wgpu::MapMode::Read, move |result| {
            if let Ok(mut s) = done.lock() {
                s.result = Some(result.map_err(|e| e.to_string()));
                if let Some(w) = s.waker.take() {
                    w.wake();
                }
            }
        });
        // Natively the callback runs inside poll; in the browser poll is a no-op and the
        // callback comes from the event loop, so nothing blocks there.
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
        MapFuture { state }
            .await
            .map_err(|e| Error::Gpu(format!("reading results back: {e}")))?;
        let bytes_out = slice
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("reading results back: {e}")))?
            .to_vec();
        staging.unmap();
        Ok(bytes_out)
    }
}

#[derive(Default)]
struct MapState {
    result: Option<std::result::Result<(), String>>,
    waker: Option<Waker>,
}

/// Resolves when `map_async`'s callback has run: a oneshot that needs no executor support.
struct MapFuture {
    state: Arc<Mutex<MapState>>,
}

impl Future for MapFuture {
    type Output = std::result::Result<(), String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Ok(mut s) = self.state.lock() else {
            return Poll::Ready(Err("the readback state was poisoned".into()));
        };
        match s.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Workgroups along x and y for `groups` workgroups (x is limited to 65535).
pub(crate) fn grid(groups: usize) -> (u32, u32) {
    const MAX: usize = 65535;
    if groups <= MAX {
        (groups.max(1) as u32, 1)
    } else {
        (MAX as u32, groups.div_ceil(MAX) as u32)
    }
}

/// Records one dispatch.
pub(crate) fn dispatch(
    pass: &mut wgpu::ComputePass<'_>,
    kernel: &Kernel,
    group: &wgpu::BindGroup,
    size: (u32, u32, u32),
) {
    pass.set_pipeline(&kernel.pipeline);
    pass.set_bind_group(0, group, &[]);
    pass.dispatch_workgroups(size.0, size.1, size.2);
}

/// Records an element-wise dispatch of `threads` invocations in workgroups of 64.
pub(crate) fn dispatch_threads(
    pass: &mut wgpu::ComputePass<'_>,
    kernel: &Kernel,
    group: &wgpu::BindGroup,
    threads: usize,
) {
    let (x, y) = grid(threads.div_ceil(64));
    dispatch(pass, kernel, group, (x, y, 1));
}

/// Parameter slots, each at the device's uniform offset alignment, gathered into one buffer.
pub(crate) struct ParamSlots {
    bytes: Vec<u8>,
    align: u64,
}

impl ParamSlots {
    pub(crate) fn new(align: u64) -> Self {
        Self {
            bytes: Vec::new(),
            align,
        }
    }

    /// Appends one slot of u32 words (f32 fields as `to_bits`) and returns its offset.
    pub(crate) fn push(&mut self, words: &[u32]) -> u64 {
        let offset = self.bytes.len() as u64;
        let mut slot = vec![0u8; self.align.max(PARAM_BYTES) as usize];
        for (dst, w) in slot.chunks_exact_mut(4).zip(words) {
            dst.copy_from_slice(&w.to_le_bytes());
        }
        self.bytes.extend_from_slice(&slot);
        offset
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The per-call values (`Call` in common.wgsl) as bytes.
pub(crate) fn call_bytes(
    seq: usize,
    start: usize,
    head_rows: usize,
    head_row0: usize,
    capacity: usize,
) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (dst, v) in out
        .chunks_exact_mut(4)
        .zip([seq, start, head_rows, head_row0, capacity])
    {
        dst.copy_from_slice(&(v as u32).to_le_bytes());
    }
    out
}
