namespace ModelDsl.Cuda.Interop;

/// <summary>
/// The driver API's result codes (<c>CUresult</c> in <c>cuda.h</c>), under their C names so that logs and code read like
/// NVIDIA's documentation (ManagedCuda calls this <c>CUResult</c>). Only the codes this binding names or is likely to
/// meet are listed; messages take the name and text from <c>cuGetErrorName</c>/<c>cuGetErrorString</c> and fall back
/// to this enum only for codes the installed driver does not know.
/// </summary>
internal enum CUresult
{
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_DEINITIALIZED = 4,
    CUDA_ERROR_STUB_LIBRARY = 34,
    CUDA_ERROR_DEVICE_UNAVAILABLE = 46,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    CUDA_ERROR_INVALID_PTX = 218,
    CUDA_ERROR_JIT_COMPILER_NOT_FOUND = 221,
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_NOT_READY = 600,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    CUDA_ERROR_LAUNCH_TIMEOUT = 702,
    CUDA_ERROR_ASSERT = 710,
    CUDA_ERROR_ILLEGAL_INSTRUCTION = 715,
    CUDA_ERROR_MISALIGNED_ADDRESS = 716,
    CUDA_ERROR_LAUNCH_FAILED = 719,
    CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
    CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
    CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901,
    CUDA_ERROR_STREAM_CAPTURE_IMPLICIT = 906,
    CUDA_ERROR_UNKNOWN = 999,
}

/// <summary><c>CUstreamCaptureMode</c>: how strictly <c>cuStreamBeginCapture_v2</c> refuses unsafe calls during a capture.</summary>
internal enum CUstreamCaptureMode
{
    /// <summary>Any thread's potentially unsafe call (a synchronous copy, a legacy-stream synchronisation) fails the capture.</summary>
    CU_STREAM_CAPTURE_MODE_GLOBAL = 0,
}

/// <summary><c>CUdevice_attribute</c> values this binding reads.</summary>
internal enum CUdevice_attribute
{
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
}

/// <summary><c>CUjit_option</c> values passed to <c>cuModuleLoadDataEx</c>.</summary>
internal enum CUjit_option
{
    CU_JIT_INFO_LOG_BUFFER = 3,
    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
    CU_JIT_ERROR_LOG_BUFFER = 5,
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
}
