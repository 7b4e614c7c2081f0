using System.IO;
using System.Text;
using ModelDsl.Runtime.Data;
using ModelDsl.Runtime.Tests.Data;

namespace ModelDsl.Runtime.Tests.Text;

public class FortuneFileTests
{
    [Fact]
    public void Percent_lines_separate_and_empty_fortunes_are_dropped()
    {
        string text = "%\nFirst one.\n%\n%\n\n  \n%\nSecond,\n  on two lines.\n%\nThird.\n%\n";
        Assert.Equal(["First one.", "Second,\n  on two lines.", "Third."], FortuneFile.Parse(text));
    }

    [Fact]
    public void A_file_without_a_final_separator_keeps_its_last_fortune()
    {
        Assert.Equal(["a", "b"], FortuneFile.Parse("a\n%\nb"));
        Assert.Empty(FortuneFile.Parse(""));
        Assert.Empty(FortuneFile.Parse("%\n%\n"));
    }

    [Fact]
    public void Percent_inside_a_line_is_text()
    {
        Assert.Equal(["100% sure\n%%\n % indented"], FortuneFile.Parse("100% sure\n%%\n % indented\n%\n"));
    }

    [Fact]
    public void Crlf_and_lone_cr_parse_like_lf()
    {
        string lf = "One\nline two\n%\nTwo\n%\n";
        Assert.Equal(FortuneFile.Parse(lf), FortuneFile.Parse(lf.Replace("\n", "\r\n")));
        Assert.Equal(FortuneFile.Parse(lf), FortuneFile.Parse(lf.Replace("\n", "\r")));
        Assert.Equal(["One\nline two", "Two"], FortuneFile.Parse("One\r\nline two\r\n%  \r\nTwo\r\n%\t\r\n"));
    }

    [Fact]
    public void Blank_lines_are_trimmed_at_the_ends_but_indentation_stays()
    {
        Assert.Equal(["    /\\_/\\\n   ( o.o )\n\n  end"], FortuneFile.Parse("\n\n    /\\_/\\   \n   ( o.o )\t\n\n  end\n\n\n%\n"));
    }

    [Fact]
    public void Overstrikes_are_rendered_and_control_characters_dropped()
    {
        // The Debian files underline with "_\bx" and "____\b\b\b\bword", accent with "e'\b", and ring a bell in jokes.
        Assert.Equal(["It's a very *UN*lucky week", "what does exist", "for all n", "Rene", "Beep!"],
            FortuneFile.Parse("It's a very *__\b\bUN*lucky week\n%\nwhat ____\b\b\b\bdoes exist\n%\nfor all _\bn\n%\nRen'\be\n%\nBeep!\a\n%\n"));
        Assert.Equal(["\tindented -- Tabs stay"], FortuneFile.Parse("\b\tindented -- Tabs stay\n"));
    }

    [Fact]
    public void Invalid_utf8_names_the_file_and_the_byte_offset()
    {
        using var folder = new TempFolder();
        // "caf\xE9" is Latin-1 for "café": byte 0xE9 at offset 12 starts a sequence that the next byte does not continue.
        string path = folder.Write("latin", Encoding.Latin1.GetBytes("Hello.\n%\ncaf\u00e9 au lait\n%\n"));
        var ex = Assert.Throws<InvalidDataException>(() => FortuneFile.Read(path));
        Assert.Equal("latin: invalid UTF-8 at byte offset 12 (0xE9); the file must be UTF-8 (ASCII is fine)", ex.Message);
    }

    [Fact]
    public void Truncated_and_overlong_sequences_are_refused()
    {
        var truncated = Assert.Throws<InvalidDataException>(() => StrictUtf8.Decode([0x61, 0x62, 0xE2, 0x82], "t"));
        Assert.Equal("t: truncated UTF-8 sequence at byte offset 2 (0xE2); the file must be UTF-8 (ASCII is fine)", truncated.Message);
        // 0xC0 0xAF is an overlong '/', the classic way to smuggle a character past a filter.
        var overlong = Assert.Throws<InvalidDataException>(() => StrictUtf8.Decode([0x2F, 0xC0, 0xAF], "o"));
        Assert.Contains("o: invalid UTF-8 at byte offset 1 (0xC0)", overlong.Message);
        // A lone continuation byte and an encoded surrogate half are not UTF-8 either.
        Assert.Throws<InvalidDataException>(() => StrictUtf8.Decode([0x80], "c"));
        Assert.Throws<InvalidDataException>(() => StrictUtf8.Decode([0xED, 0xA0, 0x80], "s"));
    }

    [Fact]
    public void Valid_utf8_decodes_and_a_bom_is_dropped()
    {
        Assert.Equal("ß ü — ok", StrictUtf8.Decode(Encoding.UTF8.GetBytes("ß ü — ok"), "u"));
        Assert.Equal("x", StrictUtf8.Decode([0xEF, 0xBB, 0xBF, 0x78], "bom"));
        Assert.Equal("", StrictUtf8.Decode([], "empty"));
        // Offsets count the BOM: the bad byte is byte 4 of the file.
        Assert.Contains("byte offset 4", Assert.Throws<InvalidDataException>(() => StrictUtf8.Decode([0xEF, 0xBB, 0xBF, 0x78, 0xFF], "b")).Message);
    }
}
