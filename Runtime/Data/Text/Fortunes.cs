using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// The fortune(6) cookie files as a text corpus: Debian's <c>fortunes</c> package (43 files, about 15,000 fortunes in
/// <see cref="SystemFolder"/>) or the sample shipped in <see cref="SampleFolder"/>.
/// <code>
/// FortuneCorpus corpus = Fortunes.Load();                                      // every file
/// FortuneCorpus four = Fortunes.Load(null, ["computers", "zippy"]);             // chosen files, in this order
/// </code>
/// A fortune file is a file whose name has no extension (<c>computers</c>, <c>men-women</c>): that leaves out
/// strfile's <c>.dat</c> indexes, Debian's <c>.u8</c> links and a sample's README.md and script. Only the folder
/// itself is read, not its subfolders (Debian keeps the offensive set in <c>off/</c>).
/// </summary>
public static class Fortunes
{
    /// <summary>Where Debian's <c>fortunes</c> package (and <c>fortunes-min</c>, with one file) installs them.</summary>
    public const string SystemFolder = "/usr/share/games/fortunes";

    /// <summary>The shipped sample, relative to the repository root; both text examples use it.</summary>
    public const string SampleFolder = "examples/TextLstm/sample";

    /// <summary>
    /// The folder to load from: <paramref name="explicitPath"/> when given (it must exist), else
    /// <see cref="SystemFolder"/> when it holds <paramref name="files"/> (any fortune file when null), else the
    /// repository sample, found by walking up from the current directory and from the application's base directory.
    /// </summary>
    public static DataFolder ResolveFolder(string? explicitPath = null, IReadOnlyList<string>? files = null) =>
        ResolveFolder(explicitPath, files, SystemFolder, [Environment.CurrentDirectory, AppContext.BaseDirectory]);

    /// <summary>As <see cref="ResolveFolder(string?, IReadOnlyList{string}?)"/>, with the system folder and sample search roots given (for tests).</summary>
    public static DataFolder ResolveFolder(string? explicitPath, IReadOnlyList<string>? files, string systemFolder, IEnumerable<string> sampleSearchRoots)
    {
        ArgumentNullException.ThrowIfNull(sampleSearchRoots);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            // A wrong explicit path is an error, not a reason to quietly train on something else.
            if (!Directory.Exists(explicitPath))
                throw new DirectoryNotFoundException($"fortunes folder {explicitPath} does not exist");
            return new DataFolder(Path.GetFullPath(explicitPath), DataFolderSource.Explicit);
        }
        // fortunes-min installs only the file "fortunes": a system folder without the wanted files does not qualify.
        if (HasFiles(systemFolder, files))
            return new DataFolder(systemFolder, DataFolderSource.System);

        foreach (string root in sampleSearchRoots.Where(r => !string.IsNullOrEmpty(r)))
        {
            for (var dir = new DirectoryInfo(Path.GetFullPath(root)); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, SampleFolder);
                if (HasFiles(candidate, files))
                    return new DataFolder(candidate, DataFolderSource.Sample);
            }
        }
        string wanted = files is null ? "fortune files" : string.Join(", ", files);
        throw new DirectoryNotFoundException(
            $"no fortunes ({wanted}): pass a folder, install them (apt-get install fortunes puts them in {systemFolder}), " +
            $"or run from inside the repository so {SampleFolder} is found");
    }

    /// <summary>True when <paramref name="folder"/> holds every one of <paramref name="files"/> (any fortune file when null).</summary>
    public static bool HasFiles(string folder, IReadOnlyList<string>? files) =>
        Directory.Exists(folder) &&
        (files is null ? ListFiles(folder).Count > 0 : files.All(f => File.Exists(Path.Combine(folder, f))));

    /// <summary>The fortune files of a folder (names without extension), in ordinal order.</summary>
    public static IReadOnlyList<string> ListFiles(string folder) =>
        Directory.EnumerateFiles(folder)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => name.Length > 0 && name[0] != '.' && Path.GetExtension(name).Length == 0)
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>Resolves the folder (see <see cref="ResolveFolder(string?, IReadOnlyList{string}?)"/>) and loads it.</summary>
    public static FortuneCorpus Load(string? explicitPath = null, IReadOnlyList<string>? files = null) =>
        Read(ResolveFolder(explicitPath, files), files);

    /// <summary>
    /// Reads <paramref name="files"/> of an already resolved folder in the order given (every fortune file, in ordinal order, when
    /// null). Each file must be UTF-8; fortunes are cleaned by <see cref="FortuneFile.Parse"/>, and a fortune whose
    /// text already occurred (in its own file or an earlier one) is dropped, so the first file listed keeps a
    /// fortune that two files share.
    /// </summary>
    public static FortuneCorpus Read(DataFolder folder, IReadOnlyList<string>? files = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        IReadOnlyList<string> names = files ?? ListFiles(folder.Path);
        if (names.Count == 0)
            throw new FileNotFoundException($"{folder.Path}: no fortune files (files without an extension)");
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
            throw new ArgumentException($"a file is listed twice: {string.Join(", ", names)}", nameof(files));

        var items = new List<Fortune>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int duplicates = 0;
        foreach (string name in names)
        {
            if (name.Length == 0 || name.IndexOfAny(['/', '\\']) >= 0)
                throw new ArgumentException($"\"{name}\" is not a file name", nameof(files));
            string path = Path.Combine(folder.Path, name);
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"{folder.Path}: no fortune file \"{name}\"; it has {string.Join(", ", ListFiles(folder.Path))}", path);
            foreach (string text in FortuneFile.Read(path))
            {
                if (seen.Add(text))
                    items.Add(new Fortune(text, name, TextSplit.Of(text)));
                else
                    duplicates++;
            }
        }
        return new FortuneCorpus(folder, names.ToArray(), items, duplicates);
    }
}
