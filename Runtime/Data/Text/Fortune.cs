namespace ModelDsl.Runtime.Data;

/// <summary>One fortune: its cleaned text, the file it came from (name only, e.g. <c>computers</c>) and its split.</summary>
public sealed record Fortune(string Text, string File, DataSplit Split);
