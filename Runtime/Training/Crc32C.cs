using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace ModelDsl.Runtime;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checkpoint checksum. Chosen over zlib's CRC-32
/// because x64 (SSE4.2) and ARM64 compute it in hardware at several GB/s, which matters for multi-GB
/// checkpoints; a slice-by-8 table is the portable fallback. <c>Compute("123456789") == 0xE3069283</c>.
/// </summary>
internal static class Crc32C
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The finished CRC of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(~0u, data);

    /// <summary>Advances a raw CRC state (start with <c>~0u</c>, finish with <c>~state</c>).</summary>
    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong crc = state;
            while (data.Length >= 8)
            {
                crc = Sse42.X64.Crc32(crc, MemoryMarshal.Read<ulong>(data));
                data = data[8..];
            }
            state = (uint)crc;
            foreach (byte b in data) state = Sse42.Crc32(state, b);
            return state;
        }
        if (Crc32.Arm64.IsSupported)
        {
            while (data.Length >= 8)
            {
                state = Crc32.Arm64.ComputeCrc32C(state, MemoryMarshal.Read<ulong>(data));
                data = data[8..];
            }
            foreach (byte b in data) state = Crc32.ComputeCrc32C(state, b);
            return state;
        }
        return UpdateSoftware(state, data);
    }

    /// <summary>Slice-by-8; also used by the tests to check the hardware paths.</summary>
    internal static uint UpdateSoftware(uint state, ReadOnlySpan<byte> data)
    {
        uint[] t = Table;
        while (data.Length >= 8)
        {
            uint lo = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ state;
            uint hi = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            state = t[7 * 256 + (lo & 0xFF)] ^ t[6 * 256 + ((lo >> 8) & 0xFF)] ^ t[5 * 256 + ((lo >> 16) & 0xFF)] ^ t[4 * 256 + (lo >> 24)]
                  ^ t[3 * 256 + (hi & 0xFF)] ^ t[2 * 256 + ((hi >> 8) & 0xFF)] ^ t[1 * 256 + ((hi >> 16) & 0xFF)] ^ t[hi >> 24];
            data = data[8..];
        }
        foreach (byte b in data) state = t[(state ^ b) & 0xFF] ^ (state >> 8);
        return state;
    }

    private static uint[] BuildTable()
    {
        var t = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            t[i] = c;
        }
        for (int i = 0; i < 256; i++)
            for (int s = 1; s < 8; s++)
                t[s * 256 + i] = t[(s - 1) * 256 + i] >> 8 ^ t[t[(s - 1) * 256 + i] & 0xFF];
        return t;
    }
}
