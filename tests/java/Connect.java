// pgjdbc as the reference for Java clients: reads JDBC URLs (one per line) on standard input,
// connects to each with the JVM's own trust settings (-Djavax.net.ssl.trustStore=...), and prints
// one JSON line per URL: {"ok": true} or {"ok": false, "error": "..."}. Run as a single-file
// program: java -cp /usr/share/java/postgresql.jar tests/java/Connect.java
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.Connection;
import java.sql.DriverManager;

public class Connect {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String url;
        while ((url = in.readLine()) != null) {
            if (url.isBlank()) {
                continue;
            }
            try (Connection c = DriverManager.getConnection(url)) {
                System.out.println("{\"ok\": true}");
            } catch (Exception e) {
                String message = String.valueOf(e.getMessage())
                    .replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
                System.out.println("{\"ok\": false, \"error\": \"" + message + "\"}");
            }
            System.out.flush();
        }
    }
}
