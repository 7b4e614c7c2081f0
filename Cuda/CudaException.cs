using System;

namespace ModelDsl.Cuda;

/// <summary>A failed CUDA driver, NVRTC or cuBLAS call; the message names the call (and the kernel, for launches).</summary>
public class CudaException : Exception
{
    public CudaException(string message) : base(message) { }

    public CudaException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// No usable GPU: the driver library, a device, NVRTC or cuBLAS is missing. The message says which, e.g.
/// <c>no CUDA driver: libcuda.so.1 could not be loaded</c>. The CPU backend is the default, so callers can fall back.
/// </summary>
public sealed class CudaUnavailableException : CudaException
{
    public CudaUnavailableException(string message) : base(message) { }

    public CudaUnavailableException(string message, Exception inner) : base(message, inner) { }
}
