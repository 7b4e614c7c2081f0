using System;
using System.IO;
using System.IO.Compression;

namespace ModelDsl.Runtime.Tests.Data;

/// <summary>Temporary folders and raw byte helpers shared by the data tests.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "modeldsl-data-" + Guid.NewGuid().ToString("N"));

    public string Write(string name, byte[] bytes)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string WriteText(string name, string text)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

internal static class TestFiles
{
    /// <summary>The repository root: the folder holding ModelDsl.sln above the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ModelDsl.sln")))
                return dir.FullName;
        throw new InvalidOperationException("ModelDsl.sln not found above " + AppContext.BaseDirectory);
    }

    public static byte[] Gzip(byte[] plain)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(plain);
        return output.ToArray();
    }

    public static byte[] Concat(params byte[][] parts)
    {
        int length = 0;
        foreach (byte[] p in parts) length += p.Length;
        var result = new byte[length];
        int at = 0;
        foreach (byte[] p in parts) { p.CopyTo(result, at); at += p.Length; }
        return result;
    }
}
