using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelDsl.Cuda.Interop;

/// <summary>
/// Loads the NVIDIA libraries by soname with <see cref="NativeLibrary"/> (so nothing is bound at start-up and a missing
/// library is an ordinary, explained <see cref="CudaUnavailableException"/>) and resolves their exports as function
/// pointers. Libraries are never unloaded: the driver and NVRTC live for the whole process, as with ManagedCuda.
/// </summary>
internal static unsafe class NativeLibraries
{
    /// <summary>The first of <paramref name="names"/> that <c>dlopen</c> finds (soname or path), or false.</summary>
    public static bool TryLoadFirst(IReadOnlyList<string> names, out nint library, out string loadedName)
    {
        foreach (string name in names)
        {
            if (NativeLibrary.TryLoad(name, out library))
            {
                loadedName = name;
                return true;
            }
        }
        library = 0;
        loadedName = "";
        return false;
    }

    /// <summary>A required export; a missing one means the library is too old for this binding.</summary>
    public static nint Export(nint library, string libraryName, string symbol) =>
        NativeLibrary.TryGetExport(library, symbol, out nint address)
            ? address
            : throw new CudaUnavailableException($"{libraryName} does not export {symbol} (the library is older than this binding supports)");

    /// <summary>An export that newer versions of the library add; 0 when absent.</summary>
    public static nint OptionalExport(nint library, string symbol) =>
        NativeLibrary.TryGetExport(library, symbol, out nint address) ? address : 0;

    /// <summary>The first export of <paramref name="symbols"/> that exists (a versioned name first, then the old one).</summary>
    public static nint FirstExport(nint library, string libraryName, params string[] symbols)
    {
        foreach (string symbol in symbols)
            if (NativeLibrary.TryGetExport(library, symbol, out nint address)) return address;
        throw new CudaUnavailableException($"{libraryName} exports none of {string.Join(", ", symbols)} (the library is older than this binding supports)");
    }

    /// <summary>A NUL-terminated C string from a library (<c>const char*</c> it owns), or null.</summary>
    public static string? FromUtf8(byte* text) => text == null ? null : Marshal.PtrToStringUTF8((nint)text);

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/> to pin and pass as <c>const char*</c>.</summary>
    public static byte[] ToUtf8(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
