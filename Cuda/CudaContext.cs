using System;

namespace ModelDsl.Cuda;

/// <summary>A real NVIDIA GPU through the CUDA driver API, NVRTC and cuBLAS. (Being written.)</summary>
public sealed class CudaContext : GpuContext
{
    internal static CudaContext Create(int ordinal) => throw new CudaUnavailableException("not written yet");
    public override string DeviceName => throw new NotImplementedException();
    public override bool IsEmulated => false;
    public override GpuModule LoadModule(string moduleName, string cudaSource) => throw new NotImplementedException();
    public override DeviceVariable Allocate(long bytes) => throw new NotImplementedException();
    public override void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, DevicePointer a, int lda, DevicePointer b, int ldb, float beta, DevicePointer c, int ldc) => throw new NotImplementedException();
    public override void Synchronize() => throw new NotImplementedException();
    internal override void CopyToDevice(DevicePointer destination, ReadOnlySpan<byte> source) => throw new NotImplementedException();
    internal override void CopyToHost(Span<byte> destination, DevicePointer source) => throw new NotImplementedException();
    internal override void Clear(DevicePointer destination, long bytes) => throw new NotImplementedException();
    internal override void Free(DevicePointer pointer) => throw new NotImplementedException();
    protected override void Dispose(bool disposing) { }
}
