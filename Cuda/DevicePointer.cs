using System;

namespace ModelDsl.Cuda;

/// <summary>An address in device memory (<c>CUdeviceptr</c>); in the emulator, a host address.</summary>
public readonly record struct DevicePointer(ulong Address)
{
    public bool IsNull => Address == 0;

    /// <summary>The address <paramref name="elements"/> floats (or ints) further on.</summary>
    public DevicePointer Plus(long elements) => new DevicePointer(checked(Address + (ulong)(elements * 4)));

    /// <summary>The address <paramref name="elements"/> BF16 values (2 bytes each) further on.</summary>
    public DevicePointer PlusBf16(long elements) => new DevicePointer(checked(Address + (ulong)(elements * 2)));

    public override string ToString() => "0x" + Address.ToString("x");
}

/// <summary>
/// A device allocation (ManagedCuda's <c>CudaDeviceVariable</c>): freed by <see cref="Dispose"/> or, if forgotten, by
/// the finalizer of its context's allocations. Element offsets and counts are in 4-byte elements (float or int).
/// </summary>
public sealed class DeviceVariable : IDisposable
{
    private readonly GpuContext _context;
    private DevicePointer _pointer;

    internal DeviceVariable(GpuContext context, DevicePointer pointer, long bytes)
    {
        _context = context;
        _pointer = pointer;
        Bytes = bytes;
        context.CountAllocation(bytes);
    }

    public long Bytes { get; }

    /// <summary>Length in 4-byte elements.</summary>
    public long Length => Bytes / 4;

    public DevicePointer Pointer => _pointer.IsNull ? throw new ObjectDisposedException(nameof(DeviceVariable)) : _pointer;

    /// <summary>Copies <paramref name="source"/> to elements <paramref name="offset"/>.. of this allocation.</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> source, long offset = 0) where T : unmanaged
    {
        CheckRange<T>(offset, source.Length);
        _context.CopyToDevice(Pointer.Plus(offset), System.Runtime.InteropServices.MemoryMarshal.AsBytes(source));
    }

    /// <summary>Copies elements <paramref name="offset"/>.. of this allocation to <paramref name="destination"/>.</summary>
    public void CopyTo<T>(Span<T> destination, long offset = 0) where T : unmanaged
    {
        CheckRange<T>(offset, destination.Length);
        _context.CopyToHost(System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination), Pointer.Plus(offset));
    }

    /// <summary>Sets every byte to zero.</summary>
    public void Clear() => _context.Clear(Pointer, Bytes);

    // offset counts 4-byte elements; count counts T's (2-byte BF16 values are copied as ushort).
    private unsafe void CheckRange<T>(long offset, int count) where T : unmanaged
    {
        if (sizeof(T) != 4)
        {
            if (offset < 0 || offset * 4 + (long)count * sizeof(T) > Bytes)
                throw new ArgumentOutOfRangeException(nameof(offset), $"{count} values of {sizeof(T)} bytes at element {offset} are outside the device allocation of {Bytes} bytes");
            return;
        }
        if (offset < 0 || offset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"elements {offset}..{offset + count} are outside the device allocation of {Length} elements");
    }

    public void Dispose()
    {
        if (_pointer.IsNull) return;
        _context.Free(_pointer);
        _pointer = default;
        _context.CountAllocation(-Bytes);
    }
}
