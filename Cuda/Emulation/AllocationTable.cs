using System;
using System.Collections.Generic;

namespace ModelDsl.Cuda.Emulation;

/// <summary>
/// The emulator's live device allocations (host memory), sorted by address, so every copy, clear, free, GEMM operand
/// and kernel pointer argument can be checked to lie inside one of them: a bad address becomes a
/// <see cref="CudaException"/> here instead of a segmentation fault.
/// </summary>
internal sealed class AllocationTable
{
    private readonly List<ulong> _starts = [];
    private readonly List<long> _sizes = [];

    public int Count => _starts.Count;

    /// <summary>Bytes of every live allocation, as requested (the alignment padding not counted).</summary>
    public long Bytes { get; private set; }

    public void Add(ulong start, long bytes)
    {
        int index = _starts.BinarySearch(start);
        if (index >= 0) throw new InvalidOperationException($"allocation 0x{start:x} is already recorded");
        _starts.Insert(~index, start);
        _sizes.Insert(~index, bytes);
        Bytes += bytes;
    }

    /// <summary>Removes the allocation that starts at <paramref name="start"/>; false when there is none.</summary>
    public bool Remove(ulong start)
    {
        int index = _starts.BinarySearch(start);
        if (index < 0) return false;
        Bytes -= _sizes[index];
        _starts.RemoveAt(index);
        _sizes.RemoveAt(index);
        return true;
    }

    /// <summary>True when [<paramref name="address"/>, <paramref name="address"/> + <paramref name="bytes"/>) lies inside one live allocation (an empty range may sit at its end).</summary>
    public bool Contains(ulong address, long bytes)
    {
        int index = Containing(address);
        return index >= 0 && bytes >= 0 && address - _starts[index] + (ulong)bytes <= (ulong)_sizes[index];
    }

    /// <summary>Why [<paramref name="address"/>, +<paramref name="bytes"/>) is not device memory, for an error message.</summary>
    public string Describe(ulong address, long bytes)
    {
        int index = Containing(address);
        if (index < 0) return $"0x{address:x} is not in any live device allocation (freed, never allocated, or a host address)";
        ulong offset = address - _starts[index];
        return $"bytes {offset}..{offset + (ulong)bytes} are outside the device allocation 0x{_starts[index]:x} of {_sizes[index]} bytes";
    }

    /// <summary>Every live allocation's start, for freeing them all.</summary>
    public ulong[] Starts() => _starts.ToArray();

    public void Clear()
    {
        _starts.Clear();
        _sizes.Clear();
        Bytes = 0;
    }

    // The allocation whose [start, start + size] holds address (its end included), or -1.
    private int Containing(ulong address)
    {
        int index = _starts.BinarySearch(address);
        if (index < 0) index = ~index - 1;
        if (index < 0) return -1;
        return address - _starts[index] <= (ulong)_sizes[index] ? index : -1;
    }
}
