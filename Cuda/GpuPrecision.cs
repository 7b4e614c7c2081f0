namespace ModelDsl.Cuda;

/// <summary>
/// The arithmetic of a model's GPU session: what the <c>.model</c> file's <c>precision</c> statement declares, or what
/// <c>ToGpu(context, precision)</c> asks for (docs/cuda.md "Precision"). The CPU code always computes in FP32.
/// </summary>
public enum GpuPrecision
{
    /// <summary>FP32 everywhere; matches the CPU backend to rounding (the default).</summary>
    Fp32,

    /// <summary>FP32 storage; cuBLAS's FP32 matrix products on tensor cores with TF32 operands (<see cref="GpuContext.Tf32"/>).</summary>
    Tf32,

    /// <summary>
    /// Mixed precision: the model's matrix products take BF16 operands (<see cref="GpuContext.GemmBf16"/>) and accumulate in
    /// FP32; FP32 master weights (with a BF16 copy the optimizer refreshes), gradients and optimizer state; layer norm,
    /// softmax, attention's scores and the loss in FP32. Needs <c>precision bf16</c> in the .model file, which generates the
    /// BF16 kernels.
    /// </summary>
    Bf16,
}
