using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ModelDsl.Runtime.Data;

/// <summary>
/// The fortunes of some files of one folder, deduplicated, in file order then position order, each with its
/// <see cref="TextSplit"/> split.
/// </summary>
public sealed class FortuneCorpus
{
    public FortuneCorpus(DataFolder folder, IReadOnlyList<string> files, IReadOnlyList<Fortune> items, int duplicatesDropped)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(items);
        Folder = folder;
        Files = files;
        Items = items;
        DuplicatesDropped = duplicatesDropped;
    }

    /// <summary>Where the files were read and why that folder (given, system installation, or shipped sample).</summary>
    public DataFolder Folder { get; }

    /// <summary>The files read, in the order their fortunes appear in <see cref="Items"/>.</summary>
    public IReadOnlyList<string> Files { get; }

    public IReadOnlyList<Fortune> Items { get; }

    /// <summary>Fortunes skipped because an identical text came earlier (in the same file or an earlier one).</summary>
    public int DuplicatesDropped { get; }

    public int Count => Items.Count;

    public IEnumerable<Fortune> In(DataSplit split) => Items.Where(f => f.Split == split);

    /// <summary>Fortunes per file, in <see cref="Files"/> order.</summary>
    public IReadOnlyList<(string File, int Count)> CountsByFile() =>
        Files.Select(file => (file, Items.Count(f => f.File == file))).ToArray();

    /// <summary>
    /// The fortunes of one split as one text for a character-level language model: each fortune followed by
    /// <paramref name="separator"/> (by default the file format's own <c>\n%\n</c>, so a model learns where a
    /// fortune ends and its samples read like a fortune file).
    /// </summary>
    public string JoinedText(DataSplit split, string separator = "\n%\n")
    {
        ArgumentNullException.ThrowIfNull(separator);
        var text = new StringBuilder();
        foreach (Fortune fortune in In(split))
            text.Append(fortune.Text).Append(separator);
        return text.ToString();
    }

    public override string ToString() =>
        $"{Count} fortunes from {Files.Count} file{(Files.Count == 1 ? "" : "s")} in {Folder}";
}
